/** A consumed `rd_kafka_message_t` copied into a `ConsumedMessage` (the native one is freed after). */
import { CString, dlopen, FFIType, type Pointer, ptr, read } from 'bun:ffi'
import type { ConsumedMessage } from '../types'
import { rd } from './library'
import { ERR } from './native'

type Memcpy = (dest: Pointer, src: Pointer, length: number) => unknown
let libcMemcpy: Memcpy | undefined
function memcpy(): Memcpy {
  libcMemcpy ??= dlopen('libc.so.6', {
    memcpy: { args: [FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.ptr },
  }).symbols.memcpy as Memcpy
  return libcMemcpy
}

/**
 * Consumed bytes are copied (they outlive the native message) into slices of a shared 256 KiB block,
 * the way Node's Buffer pool does for small buffers but for sizes up to 32 KiB: one allocation per few
 * hundred records instead of one each (a fresh buffer per record was a fifth of the consumer's CPU
 * time). A block lives as long as any of its slices; larger values get a buffer of their own.
 */
const BLOCK_BYTES = 256 * 1024
const OWN_BUFFER_FROM = 32 * 1024
let block = Buffer.allocUnsafeSlow(BLOCK_BYTES)
let blockAt = ptr(block)
let blockUsed = 0

function copyBytes(at: Pointer | null, length: number): Buffer {
  if (at === null || length === 0) return Buffer.alloc(0)
  if (length >= OWN_BUFFER_FROM) {
    const own = Buffer.allocUnsafeSlow(length)
    memcpy()(ptr(own), at, length)
    return own
  }
  if (blockUsed + length > BLOCK_BYTES) {
    block = Buffer.allocUnsafeSlow(BLOCK_BYTES)
    blockAt = ptr(block)
    blockUsed = 0
  }
  memcpy()((blockAt + blockUsed) as Pointer, at, length)
  const slice = block.subarray(blockUsed, blockUsed + length)
  // 8-byte aligned slices, as an allocator would give.
  blockUsed += (length + 7) & ~7
  return slice
}

/** Text of `length` UTF-8 bytes at `at`, decoded straight from native memory. */
function textAt(at: Pointer, length: number): string {
  if (length === 0) return ''
  return new CString(at, 0, length).toString()
}

/**
 * Topic names by topic handle, one map per librdkafka handle (its topic handles live as long as it):
 * one string per topic instead of one per message.
 */
export type TopicNames = Map<number, string>
// Out-parameters of rd_kafka_message_headers / rd_kafka_header_get_all. Module-lifetime arrays, so
// their addresses are taken once instead of once per message (each over an ArrayBuffer of its own).
const headersOut = new BigUint64Array(new ArrayBuffer(8))
const headersOutAt = ptr(headersOut)
const headerSlots = new BigUint64Array(new ArrayBuffer(24))
const headerSlotsAt = ptr(headerSlots)

function headersOf(message: Pointer): Record<string, string> {
  const lib = rd()
  const headers: Record<string, string> = {}
  if (lib.rd_kafka_message_headers(message, headersOutAt) !== ERR.NO_ERROR) return headers
  const list = Number(headersOut[0]) as Pointer
  const nameAt = headerSlotsAt
  const valueAt = (headerSlotsAt + 8) as Pointer
  const sizeAt = (headerSlotsAt + 16) as Pointer
  for (let i = 0; ; i++) {
    if (lib.rd_kafka_header_get_all(list, i, nameAt, valueAt, sizeAt) !== ERR.NO_ERROR) break
    const name = new CString(Number(headerSlots[0]) as Pointer).toString()
    const size = Number(headerSlots[2])
    headers[name] = headerSlots[1] === 0n || size === 0 ? '' : textAt(Number(headerSlots[1]) as Pointer, size)
  }
  return headers
}

/** rd_kafka_message_t: err@0, rkt@8, partition@16, payload@24, len@32, key@40, key_len@48, offset@56. */
export function messageError(message: Pointer): number {
  return read.i32(message, 0)
}

function topicOf(message: Pointer, topicNames: TopicNames): string {
  return topicNameOf(read.ptr(message, 8) as Pointer, topicNames)
}

/** The name of a topic handle (`rd_kafka_topic_t`), looked up once per handle. */
export function topicNameOf(rkt: number, topicNames: TopicNames): string {
  let topic = topicNames.get(rkt)
  if (topic === undefined) {
    topic = rkt === 0 ? '' : String(rd().rd_kafka_topic_name(rkt as Pointer))
    topicNames.set(rkt, topic)
  }
  return topic
}

/**
 * The message's offset as a number: Kafka offsets stay far below 2^53 (a partition would need 285
 * years at a million records a second), and a number avoids a BigInt per message.
 */
export function offsetOf(message: Pointer): number {
  return read.u32(message, 56) + read.i32(message, 60) * 2 ** 32
}

export function toConsumedMessage(message: Pointer, topicNames: TopicNames): ConsumedMessage {
  const key = read.ptr(message, 40) as Pointer | null
  return {
    topic: topicOf(message, topicNames),
    partition: read.i32(message, 16),
    offset: String(offsetOf(message)),
    key: key === null || key === 0 ? null : textAt(key, read.u32(message, 48)),
    value: copyBytes(read.ptr(message, 24) as Pointer, read.u32(message, 32)),
    headers: headersOf(message),
    timestamp: Number(rd().rd_kafka_message_timestamp(message, null)),
    attempt: 1,
  }
}
