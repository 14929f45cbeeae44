/** kcat (librdkafka's CLI) for tests: produce with explicit settings, and read cluster metadata. */

export interface KcatResult {
  code: number
  stdout: string
  stderr: string
}

export async function kcat(args: string[], input?: string, timeoutMs = 60_000): Promise<KcatResult> {
  const child = Bun.spawn(['kcat', ...args], {
    stdin: input === undefined ? 'ignore' : new Blob([input]),
    stdout: 'pipe',
    stderr: 'pipe',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
  })
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ])
  return { code, stdout, stderr }
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

/**
 * A transaction an outside client (kcat) opens and leaves open: `records` ("key" → "value") are written
 * into it, keyed with the Java-compatible partitioner, and it stays undecided until another producer
 * initialises the same transactional id (which aborts it) or the coordinator times it out. `kill` ends
 * kcat without letting it commit.
 */
export function openTransaction(input: {
  brokers: string
  topic: string
  transactionalId: string
  records: readonly { key: string; value: string }[]
}): { kill: () => Promise<number> } {
  const args = ['-P', '-b', input.brokers, '-t', input.topic, '-K', ':', '-X', 'partitioner=murmur2_random']
  args.push('-X', `transactional.id=${input.transactionalId}`)
  const child = Bun.spawn(['kcat', ...args], { stdin: 'pipe', stdout: 'ignore', stderr: 'ignore' })
  child.stdin.write(input.records.map(({ key, value }) => `${key}:${value}\n`).join(''))
  child.stdin.flush()
  return {
    kill: () => {
      child.kill('SIGKILL')
      return child.exited
    },
  }
}
