/**
 * kcat, the benches' outside reference (librdkafka's own CLI): producing a file with the same
 * guarantees as the system's producers, and counting what a read_committed reader sees on a topic.
 */

/** acks=all, idempotent, the Java-compatible partitioner: what every producer of the system uses. */
export const KCAT_PRODUCER_GUARANTEES = [
  '-X',
  'acks=all',
  '-X',
  'enable.idempotence=true',
  '-X',
  'partitioner=murmur2_random',
] as const

export interface KcatRun {
  /** Start to exit: kcat exits once every delivery is acknowledged. */
  seconds: number
  /** User + system CPU of the kcat process. */
  cpuSeconds: number
}

/**
 * Produces `file` to `topic` with the guarantees above; `framing` says how the file splits into records
 * (`-K` key delimiter, `-D` message delimiter, headers...). Throws with kcat's own words when it fails.
 */
export async function kcatProduce(
  brokers: string,
  topic: string,
  file: string,
  framing: readonly string[],
): Promise<KcatRun> {
  const started = performance.now()
  const child = Bun.spawn(
    ['kcat', '-P', '-b', brokers, '-t', topic, ...framing, ...KCAT_PRODUCER_GUARANTEES, '-l', file],
    { stdout: 'ignore', stderr: 'pipe' },
  )
  const [stderr, code] = await Promise.all([new Response(child.stderr).text(), child.exited])
  const seconds = (performance.now() - started) / 1000
  if (code !== 0) throw new Error(`kcat exited ${code}: ${stderr.trim()}`)
  const usage = child.resourceUsage()
  const cpuSeconds =
    usage === undefined ? Number.NaN : Number(usage.cpuTime.user + usage.cpuTime.system) / 1e6
  return { seconds, cpuSeconds }
}

/** Records a read_committed reader sees on `topic` (kcat reads read_committed by default; a byte each). */
export async function kcatCommittedCount(brokers: string, topic: string): Promise<number> {
  const child = Bun.spawn(
    ['kcat', '-C', '-b', brokers, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', 'x'],
    {
      stdout: 'pipe',
      stderr: 'pipe',
    },
  )
  const [out, code] = await Promise.all([new Response(child.stdout).text(), child.exited])
  if (code !== 0) throw new Error(`kcat could not read ${topic} (exit ${code})`)
  return out.length
}
