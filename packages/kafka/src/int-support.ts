/**
 * Helpers for this package's integration tests (`*.int.test.ts`) and the bake-off: brokers from the
 * local stack, uniquely named throwaway topics, collecting consumed messages with a deadline.
 */
import { afterAll, beforeAll } from 'bun:test'
import { stackEnv, waitFor } from '@vehicles/testing'
import { createAdmin } from './admin'
import { parseBrokers } from './brokers'
import { createProducer } from './producer'
import type { Admin, ConsumedMessage, CreateTopicSpec, Producer, ProducerRecord } from './types'

/** Brokers of the local stack; throws with what to run when the stack is not up. */
export function stackBrokers(): string[] {
  return parseBrokers(stackEnv().KAFKA_BROKERS)
}

/** A name no other run (or helper on the shared stack) uses. */
export function uniqueName(prefix: string): string {
  return `test.${prefix}.${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
}

/** A topic shaped like the system's: 6 partitions, RF 3, min.insync.replicas 2, unless told otherwise. */
export function topicSpec(topic: string, overrides: Partial<CreateTopicSpec> = {}): CreateTopicSpec {
  return { topic, partitions: 6, replicationFactor: 3, configs: { 'min.insync.replicas': '2' }, ...overrides }
}

/** Creates the topics, waits until every partition has a leader, and returns a cleanup function. */
export async function createTestTopics(admin: Admin, specs: CreateTopicSpec[]): Promise<() => Promise<void>> {
  await admin.createTopics(specs)
  await waitFor(
    `leaders for ${specs.map((s) => s.topic).join(', ')}`,
    async () => {
      const described = await admin.describeTopics(specs.map((s) => s.topic))
      const ready = described.every(
        (t, i) => t.partitions.length === specs[i]?.partitions && t.partitions.every((p) => p.leader >= 0),
      )
      return ready ? true : undefined
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  )
  return () => admin.deleteTopics(specs.map((s) => s.topic))
}

/** Records `from` … `to - 1` for `topic`: key `vehicle-<n>`, value `<n>`, so order per key can be checked. */
export function numberedRecords(topic: string, from: number, to: number): ProducerRecord[] {
  return Array.from({ length: to - from }, (_, i) => ({
    topic,
    key: `vehicle-${from + i}`,
    value: Buffer.from(String(from + i)),
  }))
}

/** A test file's Kafka: the stack's brokers, one throwaway topic, a connected admin and producer. */
export interface TopicFixture {
  readonly brokers: string[]
  readonly topic: string
  /** Connected in the file's beforeAll, disconnected (after the topic is deleted) in its afterAll. */
  readonly admin: Admin
  readonly producer: Producer
}

/**
 * Registers the file's beforeAll/afterAll: creates the topic (`topicSpec(topic, overrides)`, every
 * partition with a leader) and connects an admin and a producer; afterwards deletes the topic again.
 */
export function topicFixture(prefix: string, overrides: Partial<CreateTopicSpec> = {}): TopicFixture {
  const brokers = stackBrokers()
  const topic = uniqueName(prefix)
  let admin: Admin | undefined
  let producer: Producer | undefined
  let dropTopics: () => Promise<void> = async () => {}
  beforeAll(async () => {
    admin = createAdmin({ brokers, clientId: uniqueName('admin') })
    await admin.connect()
    dropTopics = await createTestTopics(admin, [topicSpec(topic, overrides)])
    producer = createProducer({ brokers, clientId: uniqueName('producer') })
    await producer.connect()
  })
  afterAll(async () => {
    await producer?.disconnect()
    await dropTopics()
    await admin?.disconnect()
  })
  const connected = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`topicFixture: the ${what} is connected in beforeAll, not yet`)
    return value
  }
  return {
    brokers,
    topic,
    get admin() {
      return connected(admin, 'admin')
    },
    get producer() {
      return connected(producer, 'producer')
    },
  }
}

export async function withAdmin<T>(run: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = createAdmin({ brokers: stackBrokers(), clientId: uniqueName('admin') })
  try {
    await admin.connect()
    return await run(admin)
  } finally {
    await admin.disconnect()
  }
}

/** Collects consumed messages; `until` waits for a count with a deadline and prints what arrived. */
export function collector(): {
  messages: ConsumedMessage[]
  handler: (m: ConsumedMessage) => Promise<void>
  until: (count: number, timeoutMs?: number) => Promise<ConsumedMessage[]>
} {
  const messages: ConsumedMessage[] = []
  return {
    messages,
    handler: async (m) => {
      messages.push(m)
    },
    until: (count, timeoutMs = 30_000) =>
      waitFor(
        `${count} consumed messages`,
        () => {
          if (messages.length >= count) return messages
          throw new Error(
            `${messages.length} so far: ${messages
              .slice(0, 10)
              .map((m) => `${m.topic}/${m.partition}@${m.offset} key=${m.key}`)
              .join('; ')}`,
          )
        },
        { timeoutMs, intervalMs: 50 },
      ),
  }
}
