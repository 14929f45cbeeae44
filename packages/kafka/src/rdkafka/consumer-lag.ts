/**
 * A consumer's lag per assigned partition, from what librdkafka already holds in the process: the
 * partition's end as the last fetch response reported it (`rd_kafka_get_watermark_offsets`, no request)
 * and the offset this member last committed for it, or its fetch position before its first commit since
 * the partition was assigned.
 *
 * Why not ask the group coordinator (the admin API's ListConsumerGroupOffsets): librdkafka 2.16 can abort
 * the whole process inside that call (an assertion on an enqueue-once reference count) when its
 * coordinator request fails, and a service's metrics ask for lag exactly while brokers are failing. A
 * metric must never be able to take the service down; this path sends nothing to any broker.
 */
import { type Pointer, ptr } from 'bun:ffi'
import type { PartitionLag } from '../types'
import { rd } from './library'
import { cstr, ERR, readPartitionList, withPartitionList } from './native'

/** librdkafka's "no offset" (RD_KAFKA_OFFSET_INVALID). */
const INVALID = -1001n

export function localLag(
  client: { handle: Pointer } | undefined,
  partitions: readonly { topic: string; partition: number }[],
  committedOf: (topic: string, partition: number) => bigint | undefined,
): PartitionLag[] {
  if (client === undefined || partitions.length === 0) return []
  const { handle } = client
  const lib = rd()
  const positions = withPartitionList(partitions, (list) =>
    lib.rd_kafka_position(handle, list) === ERR.NO_ERROR ? readPartitionList(list) : [],
  )
  const low = new BigInt64Array(1)
  const high = new BigInt64Array(1)
  const out: PartitionLag[] = []
  for (const p of partitions) {
    const code = lib.rd_kafka_get_watermark_offsets(handle, cstr(p.topic), p.partition, ptr(low), ptr(high))
    const end = high[0] ?? -1n
    if (code !== ERR.NO_ERROR || end < 0n) continue // nothing fetched yet: the end is not known here
    const position = positions.find((q) => q.topic === p.topic && q.partition === p.partition)?.offset
    const at = committedOf(p.topic, p.partition) ?? (position === INVALID ? undefined : position)
    if (at === undefined) continue // neither committed nor fetched by this member yet
    out.push({
      topic: p.topic,
      partition: p.partition,
      committed: String(at),
      end: String(end),
      lag: Math.max(0, Number(end - at)),
    })
  }
  return out
}
