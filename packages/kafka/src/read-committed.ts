/**
 * Reading one partition back under read_committed without a group: what the transactional relay uses
 * to find out which of its records Kafka holds, by their content, after a failure or a takeover.
 *
 * The range is fixed when the call starts: from the given offset up to the partition's last stable
 * offset (LSO), below which every transaction is decided. Which records a decision kept is read from
 * the log itself: the partition is fetched read_uncommitted up to its high watermark, and a producer's
 * transactional batches count when that producer's next control batch is a COMMIT marker, not when it
 * is an ABORT marker. (A decided transaction's marker can sit above the LSO, when another producer's
 * transaction opened in between, but never above the high watermark.) The client library's own
 * read_committed filter is not used: it takes the range from a producer's first aborted offset to its
 * last abort marker in the response, which also drops committed records between them when one
 * transactional id aborts several times (an abort marker without data, from a fencing init, suffices).
 */
import { Consumer, FetchIsolationLevels, ListOffsetTimestamps, type RecordsBatch } from '@platformatic/kafka'
import { toKafkaError } from './client-errors'
import { KafkaError } from './errors'
import type { ConsumedMessage } from './types'

/** Batch attribute bits (Kafka record batch format v2). */
const IS_TRANSACTIONAL = 1 << 4
const IS_CONTROL = 1 << 5
/** Control record key: int16 version, int16 type (0 = abort, 1 = commit). */
const COMMIT_MARKER = 1
const FETCH_BYTES = 4 * 1024 * 1024
/** Fetches in a row that return nothing below the high watermark before the read gives up (retriable). */
const EMPTY_FETCHES = 5

type BatchRecord = RecordsBatch['records'][number]

/**
 * Decides the transactional batches of `batches` (one fetch response, in offset order) by their
 * producers' markers. `pending` carries, per producer, the batches still waiting for a marker from one
 * response to the next; decided records go to `keep` as they are found.
 */
export function decideBatches(
  batches: readonly RecordsBatch[],
  pending: Map<bigint, RecordsBatch[]>,
  keep: (batch: RecordsBatch, record: BatchRecord) => void,
): void {
  for (const batch of batches) {
    if ((batch.attributes & IS_CONTROL) !== 0) {
      const waiting = pending.get(batch.producerId) ?? []
      pending.delete(batch.producerId)
      if (batch.records[0]?.key?.readInt16BE(2) !== COMMIT_MARKER) continue
      for (const kept of waiting) for (const record of kept.records) keep(kept, record)
      continue
    }
    if ((batch.attributes & IS_TRANSACTIONAL) === 0) {
      for (const record of batch.records) keep(batch, record)
      continue
    }
    pending.set(batch.producerId, [...(pending.get(batch.producerId) ?? []), batch])
  }
}

function toMessage(
  topic: string,
  partition: number,
  batch: RecordsBatch,
  record: BatchRecord,
): ConsumedMessage {
  const headers: Record<string, string> = {}
  for (const [k, v] of record.headers) if (k !== null) headers[k.toString()] = v?.toString() ?? ''
  return {
    topic,
    partition,
    offset: (batch.firstOffset + BigInt(record.offsetDelta)).toString(),
    key: record.key === null ? null : record.key.toString(),
    value: record.value ?? Buffer.alloc(0),
    headers,
    timestamp: Number(batch.firstTimestamp + record.timestampDelta),
    attempt: 1,
  }
}

/** One read_uncommitted fetch of `partition` from `offset`, from its leader. */
async function fetchAt(
  reader: Consumer,
  topic: string,
  partition: number,
  offset: bigint,
  refresh: boolean,
): Promise<RecordsBatch[]> {
  const metadata = await reader.metadata({ topics: [topic], forceUpdate: refresh })
  const meta = metadata.topics.get(topic)
  const leader = meta?.partitions[partition]?.leader
  if (meta === undefined || leader === undefined || leader < 0)
    throw new KafkaError(`no leader for ${topic}/${partition}`, { retriable: true })
  const response = await reader.fetch({
    node: leader,
    isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED,
    maxWaitTime: 500,
    minBytes: 1,
    maxBytes: FETCH_BYTES,
    topics: [
      {
        topicId: meta.id,
        partitions: [
          {
            partition,
            fetchOffset: offset,
            currentLeaderEpoch: -1,
            lastFetchedEpoch: -1,
            partitionMaxBytes: FETCH_BYTES,
          },
        ],
      },
    ],
  })
  const answer = response.responses.flatMap((t) => t.partitions).find((p) => p.partitionIndex === partition)
  return answer?.records ?? []
}

/** See `Admin.readCommitted`. A reader of its own per call: no fetch session outlives the read. */
export async function readCommitted(
  brokers: readonly string[],
  clientId: string,
  topic: string,
  partition: number,
  fromOffset: string,
): Promise<ConsumedMessage[]> {
  const reader = new Consumer({
    clientId,
    // Required by the library's options; the reader never joins (fetch and list offsets only).
    groupId: `${clientId}-never-joined`,
    bootstrapBrokers: [...brokers],
    timeout: 10_000,
    retries: 3,
    retryDelay: 500,
  })
  try {
    const end = async (
      isolationLevel:
        | typeof FetchIsolationLevels.READ_COMMITTED
        | typeof FetchIsolationLevels.READ_UNCOMMITTED,
    ) => {
      const offsets = await reader.listOffsets({
        topics: [topic],
        partitions: { [topic]: [partition] },
        isolationLevel,
        timestamp: ListOffsetTimestamps.LATEST,
      })
      const offset = offsets.get(topic)?.[partition]
      if (offset === undefined) throw new KafkaError(`no end offset for ${topic}/${partition}`)
      return offset
    }
    // Stable first: the high watermark read after it covers the markers of everything below it.
    const stable = await end(FetchIsolationLevels.READ_COMMITTED)
    const high = await end(FetchIsolationLevels.READ_UNCOMMITTED)
    const from = BigInt(fromOffset)
    const out: ConsumedMessage[] = []
    const pending = new Map<bigint, RecordsBatch[]>()
    const keep = (batch: RecordsBatch, record: BatchRecord) => {
      const offset = batch.firstOffset + BigInt(record.offsetDelta)
      if (offset >= from && offset < stable) out.push(toMessage(topic, partition, batch, record))
    }
    let at = from
    let empty = 0
    while (at < high && (at < stable || pending.size > 0)) {
      const batches = await fetchAt(reader, topic, partition, at, empty > 0)
      const last = batches.at(-1)
      if (last === undefined) {
        if (++empty >= EMPTY_FETCHES)
          throw new KafkaError(`${topic}/${partition}: nothing returned at ${at} below ${high}`, {
            retriable: true,
          })
        continue
      }
      empty = 0
      decideBatches(batches, pending, keep)
      at = last.firstOffset + BigInt(last.lastOffsetDelta) + 1n
    }
    out.sort((a, b) => (BigInt(a.offset) < BigInt(b.offset) ? -1 : 1))
    return out
  } catch (error) {
    throw toKafkaError(error, `read back ${topic}/${partition} from ${fromOffset}`)
  } finally {
    await reader.close().catch(() => {})
  }
}
