/**
 * Reading what is on a Kafka topic of the stack, for assertions, with kcat: an independent client (not
 * the Kafka module under test) and a snapshot up to the end of every partition (`-e`), which is what
 * "exactly once" needs. The topic is shared with other runs: callers filter by their own keys.
 */
import { kcatBytes } from './kcat'
import { stackEnv } from './stack-env'
import { waitFor } from './wait-for'

export interface KafkaRecord {
  topic: string
  partition: number
  offset: number
  key: string
  headers: Record<string, string>
  /** The value as kcat prints it (a string; the 5-byte wire header comes first). */
  payload: string
}

interface KcatLine {
  topic: string
  partition: number
  offset: number
  key: string | null
  headers?: string[]
  payload: string | null
}

/** kcat on the stack's brokers; its stdout, or an error with its stderr. */
async function kcat(args: string[]): Promise<Buffer> {
  const result = await kcatBytes(['-b', stackEnv().KAFKA_BROKERS, ...args])
  if (result.code !== 0)
    throw new Error(`kcat ${args.join(' ')} exited ${result.code}: ${result.stderr.trim()}`)
  return result.stdout
}

/** Every record of `topic` whose key is in `keys`, from the beginning to the current end. */
export async function recordsWithKeys(topic: string, keys: ReadonlySet<string>): Promise<KafkaRecord[]> {
  const out = await kcat(['-C', '-t', topic, '-o', 'beginning', '-e', '-J', '-q'])
  const records: KafkaRecord[] = []
  for (const line of out.toString('utf8').split('\n')) {
    if (line.length === 0) continue
    const parsed = JSON.parse(line) as KcatLine
    if (parsed.key === null || !keys.has(parsed.key)) continue
    const headers: Record<string, string> = {}
    const list = parsed.headers ?? []
    for (let i = 0; i + 1 < list.length; i += 2) headers[list[i] as string] = list[i + 1] as string
    records.push({
      topic: parsed.topic,
      partition: parsed.partition,
      offset: parsed.offset,
      key: parsed.key,
      headers,
      payload: parsed.payload ?? '',
    })
  }
  return records
}

/** The exact bytes of one record's value. */
export async function rawValue(topic: string, partition: number, offset: number): Promise<Buffer> {
  return kcat([
    '-C',
    '-t',
    topic,
    '-p',
    String(partition),
    '-o',
    String(offset),
    '-c',
    '1',
    '-e',
    '-q',
    '-f',
    '%s',
  ])
}

/**
 * Waits until every key has at least one record, then returns the snapshot. Fails with what is
 * missing when the deadline passes.
 */
export async function waitForKeys(
  topic: string,
  keys: ReadonlySet<string>,
  timeoutMs = 60_000,
): Promise<KafkaRecord[]> {
  let last: KafkaRecord[] = []
  try {
    return await waitFor(
      `${keys.size} key(s) on ${topic}`,
      async () => {
        last = await recordsWithKeys(topic, keys)
        const seen = new Set(last.map((r) => r.key))
        return seen.size === keys.size ? last : undefined
      },
      { timeoutMs, intervalMs: 1_000 },
    )
  } catch (error) {
    const seen = new Set(last.map((r) => r.key))
    const missing = [...keys].filter((k) => !seen.has(k))
    throw new Error(
      `${(error as Error).message}\n${seen.size}/${keys.size} keys arrived; missing e.g. ${missing.slice(0, 5).join(', ')}`,
    )
  }
}

/** Keys that appear more than once, with their counts. */
export function duplicates(records: readonly KafkaRecord[]): Record<string, number> {
  const counts = new Map<string, number>()
  for (const r of records) counts.set(r.key, (counts.get(r.key) ?? 0) + 1)
  return Object.fromEntries([...counts].filter(([, n]) => n > 1))
}
