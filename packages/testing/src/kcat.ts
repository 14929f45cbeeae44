/**
 * kcat (librdkafka's CLI), the outside reference client of the tests: produce with explicit settings,
 * read topics and cluster metadata, hold a transaction open. The one wrapper of it.
 */
import { type RunResult, runCommand, runCommandBytes } from './processes'
import { waitFor } from './wait-for'

export type KcatResult = RunResult

/** kcat with `args`, its output as text. */
export function kcat(args: string[], input?: string, timeoutMs = 60_000): Promise<KcatResult> {
  return runCommand(['kcat', ...args], { input, timeoutMs })
}

/** kcat with `args`, its output as bytes (record values as they are on the topic). */
export function kcatBytes(args: string[], timeoutMs = 60_000): Promise<RunResult<Buffer>> {
  return runCommandBytes(['kcat', ...args], { timeoutMs })
}

/**
 * Produces `lines` (one message each) with acks=all and waits for every delivery report. kcat exits
 * non-zero when any delivery failed; the librdkafka error is in stderr.
 */
export function produceAcksAll(
  brokers: string,
  topic: string,
  lines: string[],
  timeoutMs = 15_000,
  /** More librdkafka properties, e.g. { retries: '0', 'enable.idempotence': 'false' } to see the broker's error. */
  extra: Record<string, string> = {},
) {
  const settings = {
    acks: 'all',
    'enable.idempotence': 'true',
    'message.timeout.ms': String(timeoutMs),
    ...extra,
  }
  return kcat(
    [
      '-P',
      '-b',
      brokers,
      '-t',
      topic,
      ...Object.entries(settings).flatMap(([key, value]) => ['-X', `${key}=${value}`]),
    ],
    `${lines.join('\n')}\n`,
    timeoutMs + 20_000,
  )
}

export interface TopicMetadata {
  topic: string
  error?: string
  partitions: { partition: number; leader: number; replicas: { id: number }[]; isrs: { id: number }[] }[]
}

export interface ClusterMetadata {
  brokers: { id: number; name: string }[]
  topics: TopicMetadata[]
}

export async function clusterMetadata(brokers: string, topic?: string): Promise<ClusterMetadata> {
  const args = ['-L', '-J', '-b', brokers, '-m', '5']
  if (topic !== undefined) args.push('-t', topic)
  const result = await kcat(args, undefined, 15_000)
  if (result.code !== 0) throw new Error(`kcat -L failed: ${result.stderr.trim()}`)
  return JSON.parse(result.stdout) as ClusterMetadata
}

/** Java's String.hashCode, with which Kafka places a group or a transactional id on a coordinator. */
export function javaHashCode(text: string): number {
  let hash = 0
  for (let i = 0; i < text.length; i++) hash = (Math.imul(31, hash) + text.charCodeAt(i)) | 0
  return hash
}

/**
 * The broker coordinating `key` (a group id on __consumer_offsets, a transactional id on
 * __transaction_state): the leader of partition abs(hashCode) % partition count. Read with kcat, since
 * the Kafka module's admin lists user topics only.
 */
export async function coordinatorOf(
  brokers: string,
  internalTopic: '__consumer_offsets' | '__transaction_state',
  key: string,
): Promise<number> {
  return (await coordinatorsOf(brokers, internalTopic, [key]))[0] as number
}

/** `coordinatorOf` for many keys from one metadata request, in the order of `keys`. */
export async function coordinatorsOf(
  brokers: string,
  internalTopic: '__consumer_offsets' | '__transaction_state',
  keys: readonly string[],
): Promise<number[]> {
  const [described] = (await clusterMetadata(brokers, internalTopic)).topics
  const count = described?.partitions.length ?? 0
  if (count === 0) throw new Error(`${internalTopic} not described`)
  return keys.map((key) => {
    const hash = javaHashCode(key)
    const index = (hash === -2147483648 ? 0 : Math.abs(hash)) % count
    const leader = described?.partitions.find((p) => p.partition === index)?.leader
    if (leader === undefined || leader < 0) throw new Error(`no leader for ${internalTopic}/${index}`)
    return leader
  })
}

/** Partitions whose in-sync replica set is smaller than their replica set, as "topic/partition isr/replicas". */
export function underReplicated(metadata: ClusterMetadata): string[] {
  return metadata.topics.flatMap((topic) =>
    topic.partitions
      .filter((partition) => partition.isrs.length < partition.replicas.length)
      .map(
        (partition) =>
          `${topic.topic}/${partition.partition} isr [${partition.isrs.map((r) => r.id)}] of [${partition.replicas.map((r) => r.id)}]`,
      ),
  )
}

/** Waits until no partition of the cluster (internal topics included) has a short in-sync replica set. */
export function waitForFullIsr(brokers: string, timeoutMs: number): Promise<true> {
  return waitFor(
    'every partition back to a full ISR',
    async () => {
      const lagging = underReplicated(await clusterMetadata(brokers))
      if (lagging.length > 0)
        throw new Error(`${lagging.length} under-replicated, e.g. ${lagging.slice(0, 3).join('; ')}`)
      return true as const
    },
    { timeoutMs, intervalMs: 1_000 },
  )
}
