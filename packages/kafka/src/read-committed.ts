/**
 * Reading one partition back under read_committed without a group: what the transactional relay uses
 * to find out which of its records Kafka holds, by their content, after a failure or a takeover.
 *
 * The range is fixed when the call starts: from the given offset up to the partition's last stable
 * offset (LSO, below which every transaction is decided). The broker returns records only up to the
 * LSO under read_committed, but it returns aborted transactions' records too, with a list of where
 * each aborted transaction starts; skipping them is the reader's job. The library's own filter keeps
 * one range per producer id per response and leaves records whose abort marker lies beyond the
 * response, which a producer with one fixed transactional id (many aborted transactions, one id)
 * would hit, so the filter here is the protocol's own: a producer's transactional batches are skipped
 * from the first offset of an aborted transaction until that producer's abort marker.
 */
import { Consumer, FetchIsolationLevels, ListOffsetTimestamps, type RecordsBatch } from '@platformatic/kafka'
import { toKafkaError } from './client-errors'
import { KafkaError } from './errors'
import type { ConsumedMessage } from './types'

/** Batch attribute bits (Kafka record batch format v2). */
const IS_TRANSACTIONAL = 1 << 4
const IS_CONTROL = 1 << 5
/** Control record key: int16 version, int16 type (0 = abort, 1 = commit). */
const ABORT_MARKER = 0
const FETCH_BYTES = 4 * 1024 * 1024
/** Fetches in a row that return nothing below the LSO before the read gives up (retriable). */
const EMPTY_FETCHES = 5

interface Aborted {
  producerId: bigint
  firstOffset: bigint
}

/**
 * The committed data records among `batches` (one fetch response, in offset order), with `aborted`
 * the response's aborted transactions. `open` carries the producers inside an aborted transaction from
 * one response to the next (a transaction can span several).
 */
export function committedRecords(
  batches: readonly RecordsBatch[],
  aborted: readonly Aborted[],
  open: Set<bigint>,
): { batch: RecordsBatch; record: RecordsBatch['records'][number] }[] {
  const pending = [...aborted].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : 1))
  const out: { batch: RecordsBatch; record: RecordsBatch['records'][number] }[] = []
  for (const batch of batches) {
    const lastOffset = batch.firstOffset + BigInt(batch.lastOffsetDelta)
    while (pending[0] !== undefined && pending[0].firstOffset <= lastOffset) {
      open.add((pending.shift() as Aborted).producerId)
    }
    if ((batch.attributes & IS_CONTROL) !== 0) {
      const type = batch.records[0]?.key?.readInt16BE(2)
      if (type === ABORT_MARKER) open.delete(batch.producerId)
      continue
    }
    if ((batch.attributes & IS_TRANSACTIONAL) !== 0 && open.has(batch.producerId)) continue
    for (const record of batch.records) out.push({ batch, record })
  }
  return out
}

function toMessage(
  topic: string,
  partition: number,
  batch: RecordsBatch,
  record: RecordsBatch['records'][number],
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
    const offsets = await reader.listOffsets({
      topics: [topic],
      partitions: { [topic]: [partition] },
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      timestamp: ListOffsetTimestamps.LATEST,
    })
    const stable = offsets.get(topic)?.[partition]
    if (stable === undefined) throw new KafkaError(`no last stable offset for ${topic}/${partition}`)
    const out: ConsumedMessage[] = []
    const open = new Set<bigint>()
    let at = BigInt(fromOffset)
    let empty = 0
    while (at < stable) {
      const metadata = await reader.metadata({ topics: [topic], forceUpdate: empty > 0 })
      const meta = metadata.topics.get(topic)
      const leader = meta?.partitions[partition]?.leader
      if (meta === undefined || leader === undefined || leader < 0)
        throw new KafkaError(`no leader for ${topic}/${partition}`, { retriable: true })
      const response = await reader.fetch({
        node: leader,
        isolationLevel: FetchIsolationLevels.READ_COMMITTED,
        maxWaitTime: 500,
        minBytes: 1,
        maxBytes: FETCH_BYTES,
        topics: [
          {
            topicId: meta.id,
            partitions: [
              {
                partition,
                fetchOffset: at,
                currentLeaderEpoch: -1,
                lastFetchedEpoch: -1,
                partitionMaxBytes: FETCH_BYTES,
              },
            ],
          },
        ],
      })
      const answer = response.responses
        .flatMap((t) => t.partitions)
        .find((p) => p.partitionIndex === partition)
      const batches = answer?.records ?? []
      const last = batches.at(-1)
      if (last === undefined) {
        if (++empty >= EMPTY_FETCHES)
          throw new KafkaError(`${topic}/${partition}: nothing returned at ${at} below the LSO ${stable}`, {
            retriable: true,
          })
        continue
      }
      empty = 0
      for (const { batch, record } of committedRecords(batches, answer?.abortedTransactions ?? [], open)) {
        const message = toMessage(topic, partition, batch, record)
        const offset = BigInt(message.offset)
        if (offset >= BigInt(fromOffset) && offset < stable) out.push(message)
      }
      at = last.firstOffset + BigInt(last.lastOffsetDelta) + 1n
    }
    return out
  } catch (error) {
    throw toKafkaError(error, `read back ${topic}/${partition} from ${fromOffset}`)
  } finally {
    await reader.close().catch(() => {})
  }
}
