/**
 * compose's ZooKeeper and Kafka healthchecks and its topic-init script, run for real against the local
 * stack's ZooKeeper and Kafka (the same Kafka line as Confluent Platform 7.9). The Confluent images'
 * `kafka-topics` and `kafka-broker-api-versions` are stood in for by shims over the stack's Kafka jars
 * (kafka-tools.ts). Topics get unique names and are deleted after.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { repoRoot } from '../../infra/compose/config'
import { installKafkaTools } from '../../infra/stack/kafka-tools'
import { stackEnv } from '../../packages/testing/src/stack-env'
import { healthcheckArgv, retarget, runCommand } from './healthcheck-commands'

const env = stackEnv()
const brokers = env.KAFKA_BROKERS
const firstBroker = brokers.split(',')[0] ?? ''
const firstZookeeper = (env.ZOOKEEPER_CONNECT ?? '').split(',')[0] ?? ''
const scratch = mkdtempSync(join(tmpdir(), 'compose-stack-'))
const runId = crypto.randomUUID().slice(0, 8)
const topicA = `compose-it-${runId}.a`
const topicB = `compose-it-${runId}.b`

let toolsPath = ''
const path = () => toolsPath

beforeAll(() => {
  if (!firstZookeeper) throw new Error('.stack/stack.env has no ZOOKEEPER_CONNECT: is the local stack up?')
  toolsPath = installKafkaTools(scratch)
})

afterAll(async () => {
  // Only this run's own topics.
  await runCommand(
    ['kafka-topics', '--bootstrap-server', brokers, '--delete', '--topic', `${topicA}|${topicB}`],
    {
      PATH: path(),
    },
  )
  rmSync(scratch, { recursive: true, force: true })
}, 120_000)

describe('compose healthchecks against the local stack', () => {
  test('ZooKeeper: healthy for a quorum member, unhealthy where nothing listens', async () => {
    const [host, port] = firstZookeeper.split(':')
    const argv = retarget(healthcheckArgv('zookeeper-1'), '127.0.0.1/2181', `${host}/${port}`)
    const run = await runCommand(argv)
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' })
    const closed = retarget(healthcheckArgv('zookeeper-1'), '127.0.0.1/2181', '127.0.0.1/1')
    expect((await runCommand(closed)).code).not.toBe(0)
  })

  test('Kafka: healthy for a running broker, unhealthy where nothing listens', async () => {
    const argv = retarget(healthcheckArgv('kafka-1'), '127.0.0.1:9092', firstBroker)
    const run = await runCommand(argv, { PATH: path() })
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' })
    const closed = retarget(healthcheckArgv('kafka-1'), '127.0.0.1:9092', '127.0.0.1:1')
    expect((await runCommand(closed, { PATH: path() }, 90_000)).code).not.toBe(0)
  }, 120_000)
})

describe('topics-init against the local stack', () => {
  const script = join(repoRoot, 'infra/compose/create-topics.sh')
  const definition = (partitionsOfA: number) => {
    const file = join(scratch, `topics-${partitionsOfA}.json`)
    writeFileSync(
      file,
      JSON.stringify({
        defaults: {
          partitions: partitionsOfA,
          replicationFactor: 3,
          configs: { 'min.insync.replicas': '2' },
        },
        topics: [{ name: topicA }, { name: topicB, partitions: 1, configs: { 'retention.ms': '60000' } }],
      }),
    )
    return file
  }
  const create = (file: string) =>
    runCommand(['bash', script], { PATH: path(), TOPICS_FILE: file, BOOTSTRAP_SERVERS: brokers }, 120_000)

  test('creates the topics, then finds them matching; a second run changes nothing', async () => {
    const first = await create(definition(2))
    if (first.code !== 0) console.error(first.stdout, first.stderr)
    expect(first.code).toBe(0)
    expect(first.stdout).toContain('2 topics match')
    const second = await create(definition(2))
    expect(second.code).toBe(0)
    expect(second.stdout).toContain('2 topics match')
    const described = await runCommand(
      ['kafka-topics', '--bootstrap-server', brokers, '--describe', '--topic', topicB],
      {
        PATH: path(),
      },
    )
    expect(described.stdout).toMatch(
      /PartitionCount:\s*1\s+ReplicationFactor:\s*3\s+Configs:.*min\.insync\.replicas=2/,
    )
    expect(described.stdout).toContain('retention.ms=60000')
  }, 180_000)

  test('fails loudly when an existing topic differs from the definition', async () => {
    const run = await create(definition(3))
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`${topicA} has '2 3' (partitions replication), expected '3 3'`)
  }, 180_000)
})
