/** The Kafka layer as the issue defines it: three brokers, the project's topics at RF 3 / min ISR 2. */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { clusterMetadata, Kafka, logLevel, stackEnv } from '../../packages/testing/src/index'
import { topicDefinitions } from './kafka'

const env = stackEnv()
const kafka = new Kafka({
  clientId: 'stack-test',
  brokers: env.KAFKA_BROKERS.split(','),
  logLevel: logLevel.NOTHING,
})
const admin = kafka.admin()

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
    const { topics } = await admin.fetchTopicMetadata({ topics: names })
    for (const topic of topics) {
      expect(topic.partitions, topic.name).toHaveLength(6)
      for (const partition of topic.partitions) {
        expect(partition.replicas, `${topic.name}/${partition.partitionId}`).toHaveLength(3)
      }
    }
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: names.map((name) => ({ type: 2 /* TOPIC */, name, configNames: ['min.insync.replicas'] })),
    })
    for (const resource of described.resources) {
      const minIsr = resource.configEntries.find((entry) => entry.configName === 'min.insync.replicas')
      expect(minIsr?.configValue, resource.resourceName).toBe('2')
    }
  })

  test('brokers refuse to auto-create topics and default to RF 3 / min ISR 2 for the transaction log', async () => {
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [1, 2, 3].map((id) => ({
        type: 4 /* BROKER */,
        name: String(id),
        configNames: [
          'auto.create.topics.enable',
          'default.replication.factor',
          'min.insync.replicas',
          'transaction.state.log.replication.factor',
          'transaction.state.log.min.isr',
        ],
      })),
    })
    for (const resource of described.resources) {
      const value = (name: string) =>
        resource.configEntries.find((entry) => entry.configName === name)?.configValue
      expect(value('auto.create.topics.enable'), `broker ${resource.resourceName}`).toBe('false')
      expect(value('default.replication.factor')).toBe('3')
      expect(value('min.insync.replicas')).toBe('2')
      expect(value('transaction.state.log.replication.factor')).toBe('3')
      expect(value('transaction.state.log.min.isr')).toBe('2')
    }
  })
})
