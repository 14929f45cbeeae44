/**
 * Every system run starts with its consumer groups at the end of their input topics. The groups and
 * topics are the system's own and outlive runs; without this, a run would first work through whatever an
 * earlier run left unprocessed (its databases are gone, so nobody wants those events), and a 200-vehicle
 * test could wait behind 10,000 vehicles of a benchmark.
 */
import { Kafka, logLevel, waitFor } from '../../packages/testing/src/index'

export interface GroupInput {
  groupId: string
  topic: string
}

export async function skipBacklog(
  brokers: string,
  groups: GroupInput[],
  say: (line: string) => void,
  timeoutMs = 90_000,
): Promise<void> {
  const kafka = new Kafka({
    clientId: 'system-harness',
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
  })
  const admin = kafka.admin()
  await admin.connect()
  try {
    for (const { groupId, topic } of groups) {
      const ends = await admin.fetchTopicOffsets(topic)
      const committed = (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]?.partitions ?? []
      const skipped = ends.reduce((sum, end) => {
        const at = Number(committed.find((c) => c.partition === end.partition)?.offset ?? -1)
        return sum + (at < 0 ? 0 : Math.max(0, Number(end.high) - at))
      }, 0)
      // Offsets can only be set while the group has no member: a member of a killed earlier run stays
      // until its session times out.
      await waitFor(
        `consumer group ${groupId} to have no member, to set its offsets`,
        async () => {
          await admin.setOffsets({
            groupId,
            topic,
            partitions: ends.map((end) => ({ partition: end.partition, offset: end.high })),
          })
          return true
        },
        { timeoutMs, intervalMs: 1_000 },
      )
      say(
        `group ${groupId}: starts at the end of ${topic} (skipped ${skipped} offsets left behind by earlier runs)`,
      )
    }
  } finally {
    await admin.disconnect()
  }
}
