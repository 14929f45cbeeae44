/**
 * acks=all against broker crashes: one broker killed (kill -9 of its recorded pid) → producing still
 * succeeds; two down → producing fails with a clear error. Both come back and rejoin every ISR before
 * the test ends, so the cluster is whole again for everyone else.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { randomUUID } from 'node:crypto'
import { createAdmin } from '../../packages/kafka/src/index'
import {
  clusterMetadata,
  kcat,
  produceAcksAll,
  stackEnv,
  waitFor,
  waitForFullIsr,
} from '../../packages/testing/src/index'
import { startComponent, stopComponent } from './control'

const env = stackEnv()
const admin = createAdmin({ brokers: env.KAFKA_BROKERS.split(','), clientId: 'stack-fault-test' })
// A topic of this run only: one partition, so "the leader" is one broker.
const topic = `stack-fault.acks-${randomUUID()}`
const killed: number[] = []

async function leaderOf(name: string): Promise<number> {
  const metadata = await clusterMetadata(env.KAFKA_BROKERS, name)
  const leader = metadata.topics[0]?.partitions[0]?.leader
  if (leader === undefined || leader < 1)
    throw new Error(`no leader for ${name}: ${JSON.stringify(metadata.topics)}`)
  return leader
}

async function restoreCluster() {
  for (const id of killed.splice(0)) await startComponent(`kafka-${id}`)
  // Back in every ISR (the project's topics, the internal ones, this run's): nothing under-replicated.
  await waitForFullIsr(env.KAFKA_BROKERS, 120_000)
}

beforeAll(async () => {
  await admin.connect()
  await admin.createTopics([
    { topic, partitions: 1, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } },
  ])
  await waitFor(`a leader for ${topic}`, () => leaderOf(topic), { timeoutMs: 30_000, intervalMs: 200 })
}, 60_000)

afterAll(async () => {
  await restoreCluster()
  await admin.deleteTopics([topic]).catch(() => {})
  await admin.disconnect()
}, 240_000)

describe('acks=all with brokers killed', () => {
  test('one broker down: producing still succeeds; two down: it fails with a clear error', async () => {
    const before = await produceAcksAll(env.KAFKA_BROKERS, topic, ['before-1', 'before-2'])
    expect(before.code, before.stderr).toBe(0)

    // Kill the partition's leader: the hardest single failure for a producer.
    const first = await leaderOf(topic)
    expect(await stopComponent(`kafka-${first}`, { signal: 'SIGKILL' })).toContain('SIGKILL')
    killed.push(first)

    const oneDown = await produceAcksAll(env.KAFKA_BROKERS, topic, ['one-down-1', 'one-down-2'], 60_000)
    expect(oneDown.code, `produce with kafka-${first} down: ${oneDown.stderr}`).toBe(0)
    expect(await leaderOf(topic)).not.toBe(first)

    // Then the new leader: the last broker is left with an ISR of one, below min.insync.replicas=2.
    const second = await leaderOf(topic)
    expect(await stopComponent(`kafka-${second}`, { signal: 'SIGKILL' })).toContain('SIGKILL')
    killed.push(second)

    // Once the controller has noticed (ZooKeeper session expiry), the survivor leads with an ISR of one.
    await waitFor(
      'the partition to shrink to an ISR of one',
      async () => {
        const partition = (await clusterMetadata(env.KAFKA_BROKERS, topic)).topics[0]?.partitions[0]
        return partition !== undefined && partition.leader > 0 && partition.isrs.length === 1
          ? true
          : undefined
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    )
    // No client-side retries, so the broker's own refusal is what the producer reports.
    const twoDown = await produceAcksAll(env.KAFKA_BROKERS, topic, ['two-down-1'], 20_000, {
      retries: '0',
      'enable.idempotence': 'false',
    })
    console.log(`two brokers down, kcat said: ${twoDown.stderr.trim().split('\n').at(-1)}`)
    expect(twoDown.code, 'producing with two of three brokers down must fail').not.toBe(0)
    expect(twoDown.stderr).toMatch(/Broker: Not enough in-sync replicas/)

    await restoreCluster()

    // Every acknowledged message is there; the refused one is not.
    const consumed = await kcat(
      ['-C', '-b', env.KAFKA_BROKERS, '-t', topic, '-o', 'beginning', '-e', '-q'],
      undefined,
      30_000,
    )
    const values = consumed.stdout.trim().split('\n')
    expect(values).toEqual(expect.arrayContaining(['before-1', 'before-2', 'one-down-1', 'one-down-2']))
    expect(values).not.toContain('two-down-1')
  }, 300_000)
})
