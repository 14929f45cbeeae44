/**
 * Helpers for this package's integration tests (`*.int.test.ts`) and the bake-off: brokers from the
 * local stack, uniquely named throwaway topics, collecting consumed messages with a deadline.
 */
import { stackEnv, waitFor } from '@vehicles/testing'
import { createAdmin } from './admin'
import { parseBrokers } from './brokers'
import type { Admin, ConsumedMessage, CreateTopicSpec } from './types'

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
