/**
 * A broker killed with SIGKILL under a consuming group member: the broker that coordinates the group
 * (and leads some of the topic's partitions), the worst case, since the member's heartbeats, commits
 * and fetches all lose their broker at once. The consumer must fetch again within the failover time
 * (the brokers' ZooKeeper session, 6 s, plus the election), not only after its own session timeout
 * (30 s here, the service default) expired: the fix keeps the member (fetch retries outlast a
 * failover; a dead stream is reopened on the same member id) instead of starting a new member that
 * waits for the old one's session to end.
 *
 * This kills a broker of the stack it runs against: the fault step of `bun run test` runs it, alone.
 * The broker is always started again and the test waits for every replica to be back in sync.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { coordinatorOf, stackEnv, waitFor, waitForFullIsr } from '@vehicles/testing'
import {
  createTestTopics,
  numberedRecords,
  stackBrokers,
  testConsumer,
  topicSpec,
  uniqueName,
} from '@vehicles/testing/kafka'
import { startComponent, stopComponent } from '../../../infra/stack/control'
import { createAdmin } from './admin'
import type { KafkaError } from './errors'
import { createProducer } from './producer'
import type { Admin, ConsumedMessage, Producer, ProducerRecord } from './types'

const SESSION_TIMEOUT_MS = 30_000
/** Well under the session timeout: what a new member would have to wait for the old one to expire. */
const RESUME_BOUND_MS = 20_000

const brokers = stackBrokers()
const topic = uniqueName('broker-kill')
const groupId = uniqueName('group')
let admin: Admin
let producer: Producer
let dropTopics: () => Promise<void> = async () => {}
let victim: string | undefined

/** The broker coordinating `group`. */
const coordinatorOfGroup = (group: string) =>
  coordinatorOf(stackEnv().KAFKA_BROKERS, '__consumer_offsets', group)

async function wholeCluster() {
  for (const name of ['kafka-1', 'kafka-2', 'kafka-3']) await startComponent(name)
  await waitForFullIsr(stackEnv().KAFKA_BROKERS, 180_000)
}

beforeAll(async () => {
  admin = createAdmin({ brokers, clientId: uniqueName('admin') })
  await admin.connect()
  dropTopics = await createTestTopics(admin, [topicSpec(topic)])
  producer = createProducer({ brokers, clientId: uniqueName('producer'), deliveryTimeoutMs: 10_000 })
  await producer.connect()
})

afterAll(async () => {
  if (victim !== undefined) await wholeCluster()
  await producer?.disconnect()
  await dropTopics().catch(() => undefined)
  await admin?.disconnect()
})

const batch = (from: number, to: number) => numberedRecords(topic, from, to)

/** Sends until acknowledged: while leaders move, a send fails for a few seconds. */
async function sendRetrying(records: ProducerRecord[], deadlineMs = 60_000): Promise<void> {
  const deadline = Date.now() + deadlineMs
  for (;;) {
    try {
      await producer.send(records)
      return
    } catch (error) {
      if (Date.now() > deadline) throw error
      await Bun.sleep(250)
    }
  }
}

test('a consumer resumes within the failover time after the coordinating broker is killed', async () => {
  const timeline: string[] = []
  const started = Date.now()
  const mark = (what: string) => timeline.push(`+${((Date.now() - started) / 1000).toFixed(1)} s ${what}`)
  const seen: ConsumedMessage[] = []
  const seenAt = new Map<string, number>()
  const errors: KafkaError[] = []
  const consumer = testConsumer([topic], {
    groupId,
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    onError: (error, context) => {
      errors.push(error)
      if (context.stage === 'consumer') mark(`consumer error: ${error.message.slice(0, 160)}`)
    },
    onRecovered: ({ stoppedMs, sameMember }) =>
      mark(`fetching again after ${stoppedMs} ms (${sameMember ? 'same member' : 'new member'})`),
  })
  try {
    await sendRetrying(batch(0, 60))
    await consumer.run(async (message) => {
      seen.push(message)
      if (!seenAt.has(message.value.toString())) seenAt.set(message.value.toString(), Date.now())
    })
    await waitFor('the 60 messages sent before the kill', () => (seenAt.size >= 60 ? true : undefined), {
      timeoutMs: 60_000,
    })

    const coordinator = await coordinatorOfGroup(groupId)
    const [described] = await admin.describeTopics([topic])
    const led = described?.partitions.filter((p) => p.leader === coordinator).length ?? 0
    victim = `kafka-${coordinator}`
    const killedAt = Date.now()
    mark(`SIGKILL ${victim} (group coordinator, leader of ${led} of 6 partitions)`)
    await stopComponent(victim, { signal: 'SIGKILL' })

    // Produced once the cluster takes writes again (leaders moved); the consumer must get them all.
    await sendRetrying(batch(60, 120))
    mark('60 more messages acknowledged')
    await waitFor(
      'every message produced after the kill',
      () => {
        const missing = Array.from({ length: 60 }, (_, i) => String(60 + i)).filter((v) => !seenAt.has(v))
        if (missing.length === 0) return true
        throw new Error(`${missing.length} missing, e.g. ${missing.slice(0, 5).join(', ')}`)
      },
      { timeoutMs: 90_000, intervalMs: 100 },
    )
    const resumedMs =
      Math.max(...Array.from({ length: 60 }, (_, i) => seenAt.get(String(60 + i)) ?? 0)) - killedAt
    mark(`all 60 consumed, ${resumedMs} ms after the kill`)
    console.log(`[broker-kill] ${timeline.join('\n[broker-kill] ')}`)

    expect(resumedMs).toBeLessThan(RESUME_BOUND_MS)
    expect(new Set(seen.map((m) => m.value.toString())).size).toBe(120)
    await waitFor('ping to answer again', async () => {
      await consumer.ping()
      return true
    })
  } finally {
    if (timeline.length > 0 && !timeline.some((line) => line.includes('all 60 consumed')))
      console.log(`[broker-kill] ${timeline.join('\n[broker-kill] ')}`)
    await consumer.close()
    if (victim !== undefined) await startComponent(victim)
  }
}, 300_000)
