/**
 * Kafka fixtures for integration tests, over the Kafka module (kcat is the outside reference, in
 * kcat.ts): the stack's brokers, throwaway topics shaped like the system's, one file's topic with a
 * connected admin and producer, and waits with deadlines for consumed messages and a group's lag.
 * Imported as `@vehicles/testing/kafka`, not from the index, so suites without Kafka never load the module.
 */
import { afterAll, beforeAll } from 'bun:test'
import {
  type Admin,
  type ConsumedMessage,
  type Consumer,
  type ConsumerOptions,
  type CreateTopicSpec,
  createAdmin,
  createConsumer,
  createProducer,
  type Producer,
  type ProducerRecord,
  parseBrokers,
} from '@vehicles/kafka'
import { stackEnv } from './stack-env'
import { uniqueName } from './unique-name'
import { waitFor } from './wait-for'

export { uniqueName }

/** Brokers of the local stack; throws with what to run when the stack is not up. */
export function stackBrokers(): string[] {
  return parseBrokers(stackEnv().KAFKA_BROKERS)
}

/** A topic shaped like the system's: 6 partitions, RF 3, min.insync.replicas 2, unless told otherwise. */
export function topicSpec(topic: string, overrides: Partial<CreateTopicSpec> = {}): CreateTopicSpec {
  return { topic, partitions: 6, replicationFactor: 3, configs: { 'min.insync.replicas': '2' }, ...overrides }
}

/**
 * Creates the topics (a bare name gets `topicSpec`), waits until every partition has a leader, and
 * resolves to a cleanup function that deletes them.
 */
export async function createTestTopics(
  admin: Admin,
  topics: readonly (CreateTopicSpec | string)[],
): Promise<() => Promise<void>> {
  const specs = topics.map((t) => (typeof t === 'string' ? topicSpec(t) : t))
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

/** An admin on the stack's brokers, connected; the caller disconnects it. */
export async function connectAdmin(): Promise<Admin> {
  const admin = createAdmin({ brokers: stackBrokers(), clientId: uniqueName('admin') })
  await admin.connect()
  return admin
}

/**
 * A consumer on the stack of a group of its own, reading `topics` from the beginning under
 * read_committed (the only mode the module has); `overrides` for the rest. Not yet running.
 */
export function testConsumer(topics: readonly string[], overrides: Partial<ConsumerOptions> = {}): Consumer {
  return createConsumer({
    brokers: stackBrokers(),
    clientId: uniqueName('consumer'),
    groupId: uniqueName('group'),
    topics,
    readCommitted: true,
    fromBeginning: true,
    ...overrides,
  })
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

/** Waits until the group has committed everything written to `topic` (lag 0 on every partition). */
export function waitForZeroLag(admin: Admin, groupId: string, topic: string, timeoutMs = 60_000) {
  return waitFor(
    `group ${groupId} to commit every offset of ${topic}`,
    async () => {
      const lag = await admin.groupLag(groupId, [topic])
      const behind = lag.filter((p) => p.lag > 0)
      if (behind.length === 0) return lag
      throw new Error(
        `behind: ${behind.map((p) => `p${p.partition} committed=${p.committed} end=${p.end}`).join(', ')}`,
      )
    },
    { timeoutMs, intervalMs: 250 },
  )
}
