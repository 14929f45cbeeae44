/**
 * Reading the system's topics for the books: end offsets, and every committed record since a mark
 * (kcat, isolation.level=read_committed), with the processed topic's values decoded far enough to
 * compare event ids and prices.
 */
import { clusterMetadata, kcat, kcatBytes } from '../../packages/testing/src/index'

/** partition → first offset of this run. */
export type Marks = Map<number, number>

export interface TopicRecord {
  partition: number
  offset: number
  key: string
  headers: string
}

/** What a processed record says: its event id and price (from the value), for the re-priced check. */
export interface ProcessedRecord extends TopicRecord {
  /** `eventId` of the value, or `undecodable@p/o` when the value is not the wire format's JSON. */
  eventId: string
  price: number | undefined
}

export async function endOffsets(brokers: string, topic: string): Promise<Marks> {
  const metadata = await clusterMetadata(brokers, topic)
  const partitions = metadata.topics.find((t) => t.topic === topic)?.partitions ?? []
  if (partitions.length === 0) throw new Error(`topic ${topic} has no partitions in the metadata`)
  const args = ['-Q', '-b', brokers]
  for (const p of partitions) args.push('-t', `${topic}:${p.partition}:-1`)
  const result = await kcat(args, undefined, 30_000)
  if (result.code !== 0) throw new Error(`kcat -Q ${topic} failed: ${result.stderr.trim()}`)
  const marks: Marks = new Map()
  for (const line of result.stdout.split('\n')) {
    const match = /\[(\d+)\]\s+offset\s+(-?\d+)/.exec(line)
    if (match?.[1] !== undefined && match[2] !== undefined) marks.set(Number(match[1]), Number(match[2]))
  }
  if (marks.size !== partitions.length) {
    throw new Error(`kcat -Q ${topic}: expected ${partitions.length} partitions, got: ${result.stdout}`)
  }
  return marks
}

/**
 * Every committed record of `topic` from the marks to the current end (kcat stops at the last stable
 * offset: open transactions are not read, aborted ones are skipped).
 */
export async function readSince(brokers: string, topic: string, marks: Marks): Promise<TopicRecord[]> {
  const perPartition = await Promise.all(
    [...marks].map(async ([partition, from]) => {
      const result = await kcat(
        [
          '-C',
          '-b',
          brokers,
          '-t',
          topic,
          '-p',
          String(partition),
          '-o',
          String(from),
          '-e',
          '-q',
          '-X',
          'isolation.level=read_committed',
          '-f',
          '%p\t%o\t%k\t%h\n',
        ],
        undefined,
        60_000,
      )
      if (result.code !== 0) throw new Error(`kcat -C ${topic}/${partition} failed: ${result.stderr.trim()}`)
      return result.stdout
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line): TopicRecord => {
          const [p = '', o = '', key = '', ...headers] = line.split('\t')
          return { partition: Number(p), offset: Number(o), key, headers: headers.join('\t') }
        })
    }),
  )
  return perPartition.flat()
}

/**
 * Every committed record of the processed topic since the marks, with its value's event id and price.
 * The value is binary (magic byte, 4-byte schema id, JSON), so kcat prints a header line with the
 * value's length and the value's bytes after it, and the output is cut by those lengths, not by lines.
 */
export async function readProcessedSince(
  brokers: string,
  topic: string,
  marks: Marks,
): Promise<ProcessedRecord[]> {
  return (await readRawSince(brokers, topic, marks)).map(({ value, ...record }) => ({
    ...record,
    ...answerOf(value, record),
  }))
}

/** A record with its value's bytes (null for a tombstone). */
export interface RawRecord extends TopicRecord {
  value: Buffer | null
}

/** Every committed record of `topic` since the marks, with the exact bytes of each value. */
export async function readRawSince(brokers: string, topic: string, marks: Marks): Promise<RawRecord[]> {
  const perPartition = await Promise.all(
    [...marks].map(async ([partition, from]) => {
      const args = ['-C', '-b', brokers, '-t', topic, '-p', String(partition), '-o', String(from), '-e', '-q']
      args.push('-X', 'isolation.level=read_committed', '-f', '%p %o %S %k\t%h\n%s\n')
      const { code, stdout, stderr } = await kcatBytes(args, 60_000)
      if (code !== 0) throw new Error(`kcat -C ${topic}/${partition} failed: ${stderr.trim()}`)
      return parseRaw(stdout)
    }),
  )
  return perPartition.flat()
}

/** Cuts kcat's `%p %o %S %k\t%h\n%s\n` output into records (exported for the unit test). */
export function parseRaw(out: Buffer): RawRecord[] {
  const records: RawRecord[] = []
  let at = 0
  while (at < out.length) {
    const eol = out.indexOf(10, at)
    if (eol < 0) throw new Error(`kcat output cut short at byte ${at}`)
    const line = out.subarray(at, eol).toString('utf8')
    const match = /^(\d+) (\d+) (-?\d+) ([^\t]*)\t(.*)$/.exec(line)
    if (match === null) throw new Error(`unexpected kcat header line: ${line}`)
    const [, p = '', o = '', size = '', key = '', headers = ''] = match
    const length = Math.max(0, Number(size))
    const value = Number(size) < 0 ? null : Buffer.from(out.subarray(eol + 1, eol + 1 + length))
    at = eol + 1 + length + 1
    records.push({ partition: Number(p), offset: Number(o), key, headers, value })
  }
  return records
}

/** The processed event's id and price read from a record's wire-format value (exported for the unit test). */
export function answerOf(
  value: Buffer | null,
  where: TopicRecord,
): { eventId: string; price: number | undefined } {
  const undecodable = { eventId: `undecodable@${where.partition}/${where.offset}`, price: undefined }
  if (value === null || value.length < 5 || value[0] !== 0) return undecodable
  try {
    const event = JSON.parse(value.subarray(5).toString('utf8')) as {
      eventId?: unknown
      price?: { amount?: unknown }
    }
    if (typeof event.eventId !== 'string') return undecodable
    const amount = event.price?.amount
    return { eventId: event.eventId, price: typeof amount === 'number' ? amount : undefined }
  } catch {
    return undecodable
  }
}
