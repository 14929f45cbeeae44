/** Kafka plumbing for this package's integration tests: unique throwaway topics on the shared stack. */
import { type Admin, type CreateTopicSpec, createAdmin, parseBrokers } from '@vehicles/kafka'
import { stackEnv, waitFor } from '@vehicles/testing'

export function stackBrokers(): string[] {
  return parseBrokers(stackEnv().KAFKA_BROKERS)
}

/** A name no other run or helper uses (topics, groups, client ids). */
export function uniqueName(prefix: string): string {
  return `test.ads.${prefix}.${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
}

/** Shaped like the system's topics (6 partitions, RF 3, min ISR 2). */
export const topicSpec = (topic: string): CreateTopicSpec => ({
  topic,
  partitions: 6,
  replicationFactor: 3,
  configs: { 'min.insync.replicas': '2' },
})

export async function connectAdmin(): Promise<Admin> {
  const admin = createAdmin({ brokers: stackBrokers(), clientId: uniqueName('admin') })
  await admin.connect()
  return admin
}

/** Creates the topics and waits for a leader on every partition; resolves to their cleanup. */
export async function createTopics(admin: Admin, topics: string[]): Promise<() => Promise<void>> {
  await admin.createTopics(topics.map(topicSpec))
  await waitFor(
    `leaders for ${topics.join(', ')}`,
    async () => {
      const described = await admin.describeTopics(topics)
      return described.every((t) => t.partitions.length === 6 && t.partitions.every((p) => p.leader >= 0))
        ? true
        : undefined
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  )
  return () => admin.deleteTopics(topics)
}

/** Waits until the group has committed everything written to `topic` (lag 0 on every partition). */
export async function waitForZeroLag(admin: Admin, groupId: string, topic: string, timeoutMs = 60_000) {
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
