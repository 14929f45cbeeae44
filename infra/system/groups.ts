/**
 * Every system run starts with its consumer groups at the end of their input topics. The groups and
 * topics are the system's own and outlive runs; without this, a run would first work through whatever an
 * earlier run left unprocessed (its databases are gone, so nobody wants those events), and a 200-vehicle
 * test could wait behind 10,000 vehicles of a benchmark.
 *
 * The Kafka module reads a group's offsets but does not set them (services only commit what they
 * handled), so the reset is Kafka's own `kafka-consumer-groups --reset-offsets --to-latest`, run on the
 * stack's jars.
 */
import { createAdmin } from '../../packages/kafka/src/index'
import { waitFor } from '../../packages/testing/src/index'
import { runKafkaTool } from '../stack/kafka-tools'

export interface GroupInput {
  groupId: string
  topic: string
}

export async function skipBacklog(
  stack: { KAFKA_BROKERS: string; STACK_DIR?: string },
  groups: GroupInput[],
  say: (line: string) => void,
  timeoutMs = 90_000,
): Promise<void> {
  const admin = createAdmin({ brokers: stack.KAFKA_BROKERS.split(','), clientId: 'system-harness' })
  await admin.connect()
  try {
    // One JVM per group, side by side: each takes seconds to start.
    await Promise.all(
      groups.map(async ({ groupId, topic }) => {
        const skipped = (await admin.groupLag(groupId, [topic]))
          .filter((partition) => partition.committed !== null)
          .reduce((sum, partition) => sum + partition.lag, 0)
        // Offsets can only be set while the group has no member: a member of a killed earlier run stays
        // until its session times out.
        await waitFor(
          `consumer group ${groupId} to have no member, to set its offsets`,
          () => resetToEnd(stack, groupId, topic),
          { timeoutMs, intervalMs: 1_000 },
        )
        say(
          `group ${groupId}: starts at the end of ${topic} (skipped ${skipped} offsets left behind by earlier runs)`,
        )
      }),
    )
  } finally {
    await admin.disconnect()
  }
}

/** Commits the end offsets of `topic` for `groupId`; throws with the tool's answer when it refused. */
export async function resetToEnd(
  stack: { KAFKA_BROKERS: string; STACK_DIR?: string },
  groupId: string,
  topic: string,
): Promise<true> {
  const args = ['--bootstrap-server', stack.KAFKA_BROKERS, '--group', groupId, '--topic', topic]
  args.push('--reset-offsets', '--to-latest', '--execute')
  const { code, out, err } = await runKafkaTool('kafka-consumer-groups', args, { stackDir: stack.STACK_DIR })
  // The tool reports a group that still has members on stdout and exits 0: success is the table of new
  // offsets, rows "group topic partition new-offset" (Kafka 3.9 prints them without line breaks between them).
  const row = new RegExp(`${escaped(groupId)}\\s+${escaped(topic)}\\s+\\d+\\s+\\d+`)
  if (code !== 0 || !row.test(out) || /error/i.test(out)) {
    throw new Error(`kafka-consumer-groups exited ${code}: ${`${out}\n${err}`.trim().slice(0, 500)}`)
  }
  return true
}

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
