/** A consumed `rd_kafka_message_t` copied into a `ConsumedMessage` (the native one is freed after). */
import { CString, dlopen, FFIType, type Pointer, ptr, read } from 'bun:ffi'
import type { ConsumedMessage } from '../types'
import { rd } from './library'
import { ERR } from './native'

function copyBytes(at: Pointer | null, length: number): Buffer {
  if (at === null || length === 0) return Buffer.alloc(0)
  // A copy: the result outlives the native message. libc's memcpy into a fresh Buffer: a view of the
  // native bytes (toArrayBuffer) per message made copying two thirds of the consumer's CPU time.
  const copy = Buffer.allocUnsafeSlow(length)
  memcpy()(ptr(copy), at, length)
  return copy
}

let libcMemcpy: ((dest: Pointer, src: Pointer, length: number) => unknown) | undefined
function memcpy() {
  libcMemcpy ??= dlopen('libc.so.6', {
    memcpy: { args: [FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.ptr },
  }).symbols.memcpy as (dest: Pointer, src: Pointer, length: number) => unknown
  return libcMemcpy
}

/** Text of `length` UTF-8 bytes at `at`, decoded straight from native memory. */
function textAt(at: Pointer, length: number): string {
  return length === 0 ? '' : new CString(at, 0, length).toString()
}

/**
 * Topic names by topic handle, one map per librdkafka handle (its topic handles live as long as it):
 * one string per topic instead of one per message.
 */
export type TopicNames = Map<number, string>
// Scratch space for the out-parameters of rd_kafka_message_headers / rd_kafka_header_get_all.
const headersOut = new BigUint64Array(1)
const headerSlots = new BigUint64Array(3)

function headersOf(message: Pointer): Record<string, string> {
  const lib = rd()
  const headers: Record<string, string> = {}
  if (lib.rd_kafka_message_headers(message, ptr(headersOut)) !== ERR.NO_ERROR) return headers
  const list = Number(headersOut[0]) as Pointer
  const slots = headerSlots
  for (let i = 0; ; i++) {
    const at = ptr(slots)
    const valueAt = (at + 8) as Pointer
    const sizeAt = (at + 16) as Pointer
    if (lib.rd_kafka_header_get_all(list, i, at, valueAt, sizeAt) !== ERR.NO_ERROR) break
    const name = Number(slots[0]) as Pointer
    const value = slots[1] === 0n ? null : (Number(slots[1]) as Pointer)
    headers[copyBytes(name, strlen(name)).toString('utf8')] = copyBytes(value, Number(slots[2])).toString(
      'utf8',
    )
  }
  return headers
}

function strlen(at: Pointer): number {
  let n = 0
  while (read.u8(at, n) !== 0) n++
  return n
}

/** rd_kafka_message_t: err@0, rkt@8, partition@16, payload@24, len@32, key@40, key_len@48, offset@56. */
export function messageError(message: Pointer): number {
  return read.i32(message, 0)
}

export function messagePartition(
  message: Pointer,
  topicNames: TopicNames,
): { topic: string; partition: number; offset: bigint } {
  const lib = rd()
  const rkt = read.ptr(message, 8) as Pointer
  let topic = topicNames.get(rkt)
  if (topic === undefined) {
    topic = rkt === null ? '' : String(lib.rd_kafka_topic_name(rkt))
    topicNames.set(rkt, topic)
  }
  return {
    topic,
    partition: read.i32(message, 16),
    offset: read.i64(message, 56),
  }
}

export function toConsumedMessage(
  message: Pointer,
  topicNames: TopicNames,
): Omit<ConsumedMessage, 'attempt'> {
  const { topic, partition, offset } = messagePartition(message, topicNames)
  const key = read.ptr(message, 40) as Pointer | null
  return {
    topic,
    partition,
    offset: offset.toString(),
    key: key === null || key === 0 ? null : textAt(key, Number(read.u64(message, 48))),
    value: copyBytes(read.ptr(message, 24) as Pointer, Number(read.u64(message, 32))),
    headers: headersOf(message),
    timestamp: Number(rd().rd_kafka_message_timestamp(message, null)),
  }
}
