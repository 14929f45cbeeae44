/**
 * The Kafka layer: three brokers, the project's topics at RF 3 / min ISR 2. Read through the Kafka module
 * and kcat; broker configs through Kafka's own kafka-configs (neither of the others describes them).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createAdmin } from '../../packages/kafka/src/index'
import { clusterMetadata, stackEnv } from '../../packages/testing/src/index'
import { topicDefinitions } from './kafka'
import { runKafkaTool } from './kafka-tools'

const env = stackEnv()
const admin = createAdmin({ brokers: env.KAFKA_BROKERS.split(','), clientId: 'stack-test' })

/** Every config of every broker (defaults included), by broker id. */
async function brokerConfigs(): Promise<Map<string, Map<string, string>>> {
  const args = ['--bootstrap-server', env.KAFKA_BROKERS, '--entity-type', 'brokers', '--describe', '--all']
  const { code, out, err } = await runKafkaTool('kafka-configs', args, { stackDir: env.STACK_DIR })
  if (code !== 0) throw new Error(`kafka-configs exited ${code}: ${err}`)
  const brokers = new Map<string, Map<string, string>>()
  let current: Map<string, string> | undefined
  for (const line of out.split('\n')) {
    const broker = /^All configs for broker (\d+) are:/.exec(line)?.[1]
    if (broker !== undefined) {
      current = new Map()
      brokers.set(broker, current)
    }
    const entry = /^\s+([\w.]+)=(\S*) sensitive=/.exec(line)
    if (entry?.[1] !== undefined && entry[2] !== undefined) current?.set(entry[1], entry[2])
  }
  return brokers
}

beforeAll(() => admin.connect())
afterAll(() => admin.disconnect())

describe('kafka cluster', () => {
  test('metadata lists three brokers, from every bootstrap broker', async () => {
    for (const key of ['KAFKA_BROKER_1', 'KAFKA_BROKER_2', 'KAFKA_BROKER_3']) {
      const broker = env[key]
      expect(broker, `${key} in stack.env`).toBeDefined()
      const metadata = await clusterMetadata(broker as string)
      expect(metadata.brokers.map((b) => b.id).sort()).toEqual([1, 2, 3])
    }
    const cluster = await admin.describeCluster()
    expect(cluster.brokers).toHaveLength(3)
  })

  test('every topic of infra/topics.json has 6 partitions, RF 3 and min.insync.replicas=2', async () => {
    const names = topicDefinitions().topics.map((topic) => topic.name)
    expect(names).toContain('stock.vehicle-created')
    expect(names).toContain('stock.vehicle-processed.dlq')
    const described = await admin.describeTopics(names)
    expect(described.map((topic) => topic.topic).sort()).toEqual([...names].sort())
    for (const topic of described) {
      expect(topic.partitions, topic.topic).toHaveLength(6)
      for (const partition of topic.partitions) {
        expect(partition.replicas, `${topic.topic}/${partition.partition}`).toHaveLength(3)
      }
      expect(topic.configs['min.insync.replicas'], topic.topic).toBe('2')
    }
  })

  test('brokers refuse to auto-create topics and default to RF 3 / min ISR 2 for the transaction log', async () => {
    const brokers = await brokerConfigs()
    expect([...brokers.keys()].sort()).toEqual(['1', '2', '3'])
    for (const [id, configs] of brokers) {
      const value = (name: string) => configs.get(name)
      expect(value('auto.create.topics.enable'), `broker ${id}`).toBe('false')
      expect(value('default.replication.factor'), `broker ${id}`).toBe('3')
      expect(value('min.insync.replicas'), `broker ${id}`).toBe('2')
      expect(value('transaction.state.log.replication.factor'), `broker ${id}`).toBe('3')
      expect(value('transaction.state.log.min.isr'), `broker ${id}`).toBe('2')
    }
  })
})
