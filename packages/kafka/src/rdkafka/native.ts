/**
 * Small pieces every part of the engine needs: C strings, librdkafka errors as the module's typed
 * errors, configuration objects, topic-partition lists, and reading native structs.
 */
import { CString, type Pointer, ptr, read, toArrayBuffer } from 'bun:ffi'
import {
  KafkaDeliveryError,
  KafkaError,
  KafkaFencedError,
  KafkaTopicNotFoundError,
  KafkaUnavailableError,
  KafkaUsageError,
} from '../errors'
import { rd } from './library'

export const ERR = {
  NO_ERROR: 0,
  DESTROY: -197,
  TRANSPORT: -195,
  MSG_TIMED_OUT: -192,
  PARTITION_EOF: -191,
  UNKNOWN_PARTITION: -190,
  UNKNOWN_TOPIC: -188,
  ALL_BROKERS_DOWN: -187,
  TIMED_OUT: -185,
  QUEUE_FULL: -184,
  ASSIGN_PARTITIONS: -175,
  REVOKE_PARTITIONS: -174,
  TIMED_OUT_QUEUE: -166,
  PURGE_QUEUE: -152,
  PURGE_INFLIGHT: -151,
  FENCED: -144,
  UNKNOWN_TOPIC_OR_PART: 3,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PRODUCER_EPOCH: 47,
  PRODUCER_FENCED: 90,
} as const

/** Failures where waiting and trying again is the answer (broker away, leader moving, timeouts). */
const UNAVAILABLE = new Set<number>([
  ERR.TRANSPORT,
  ERR.ALL_BROKERS_DOWN,
  ERR.TIMED_OUT,
  ERR.MSG_TIMED_OUT,
  ERR.TIMED_OUT_QUEUE,
  5, // LEADER_NOT_AVAILABLE
  6, // NOT_LEADER_FOR_PARTITION
  7, // REQUEST_TIMED_OUT
  8, // BROKER_NOT_AVAILABLE
  13, // NETWORK_EXCEPTION
  14, // COORDINATOR_LOAD_IN_PROGRESS
  15, // COORDINATOR_NOT_AVAILABLE
  16, // NOT_COORDINATOR
  19, // NOT_ENOUGH_REPLICAS
  20, // NOT_ENOUGH_REPLICAS_AFTER_APPEND
])
const FENCED = new Set<number>([ERR.FENCED, ERR.PRODUCER_FENCED, ERR.INVALID_PRODUCER_EPOCH])

/** A NUL-terminated copy of `text`; keep the buffer referenced while native code reads it. */
export function cstr(text: string): Buffer {
  return Buffer.from(`${text}\0`, 'utf8')
}

export function errName(code: number): string {
  return String(rd().rd_kafka_err2name(code))
}

/** The module's error for a librdkafka error code. `topic` names the topic of a failed produce. */
export function kafkaErrorOf(
  code: number,
  context: string,
  detail?: string,
  options: { topic?: string; retriable?: boolean; fatal?: boolean } = {},
): KafkaError {
  const message = `${context}: ${errName(code)}: ${detail ?? String(rd().rd_kafka_err2str(code))}`
  if (FENCED.has(code)) return new KafkaFencedError(message)
  if (code === ERR.UNKNOWN_TOPIC || code === ERR.UNKNOWN_TOPIC_OR_PART) {
    return new KafkaTopicNotFoundError(options.topic ?? 'unknown', new Error(message))
  }
  // Before the topic: a record that could not be delivered because the cluster is away is the
  // caller's "back off and report not-ready" case, whatever its topic.
  if (UNAVAILABLE.has(code) && options.fatal !== true) return new KafkaUnavailableError(message)
  const retriable = options.fatal === true ? false : (options.retriable ?? false)
  if (options.topic !== undefined) return new KafkaDeliveryError(message, options.topic, { retriable })
  return new KafkaError(message, { retriable })
}

export interface NativeError {
  code: number
  message: string
  fatal: boolean
  retriable: boolean
  txnRequiresAbort: boolean
}

/** Reads an `rd_kafka_error_t *` and frees it (null → null). */
export function takeError(error: Pointer | null): NativeError | null {
  if (error === null) return null
  const lib = rd()
  try {
    return {
      code: lib.rd_kafka_error_code(error),
      message: String(lib.rd_kafka_error_string(error)),
      fatal: lib.rd_kafka_error_is_fatal(error) !== 0,
      retriable: lib.rd_kafka_error_is_retriable(error) !== 0,
      txnRequiresAbort: lib.rd_kafka_error_txn_requires_abort(error) !== 0,
    }
  } finally {
    lib.rd_kafka_error_destroy(error)
  }
}

export function toKafkaError(error: NativeError, context: string, topic?: string): KafkaError {
  return kafkaErrorOf(error.code, context, error.message, {
    topic,
    retriable: error.retriable,
    fatal: error.fatal,
  })
}

/** A configured `rd_kafka_conf_t *`; on a bad setting it is freed and a usage error thrown. */
export function newConf(settings: Record<string, string>, events: number): Pointer {
  const lib = rd()
  const conf = lib.rd_kafka_conf_new()
  if (conf === null) throw new KafkaError('rd_kafka_conf_new returned null')
  const errstr = Buffer.alloc(512)
  for (const [name, value] of Object.entries(settings)) {
    if (lib.rd_kafka_conf_set(conf, cstr(name), cstr(value), errstr, errstr.length) !== 0) {
      lib.rd_kafka_conf_destroy(conf)
      throw new KafkaUsageError(`librdkafka setting ${name}=${value}: ${cstringIn(errstr)}`)
    }
  }
  lib.rd_kafka_conf_set_events(conf, events)
  return conf
}

/** The text up to the first NUL of a buffer librdkafka wrote an error string into. */
export function cstringIn(buffer: Buffer): string {
  const end = buffer.indexOf(0)
  return buffer.toString('utf8', 0, end < 0 ? buffer.length : end)
}

/** `const char *` (possibly null) → string. */
export function stringAt(pointer: Pointer | null): string | null {
  return pointer === null ? null : new CString(pointer).toString()
}

/** Reads an array of `count` pointers at `array`. */
export function pointersAt(array: Pointer | null, count: number): Pointer[] {
  if (array === null || count === 0) return []
  const out: Pointer[] = []
  for (let i = 0; i < count; i++) out.push(read.ptr(array, i * 8) as Pointer)
  return out
}

/** Calls a `T **f(x, size_t *cntp)` accessor and returns the pointers. */
export function arrayOf(get: (cntp: Pointer) => Pointer | null): Pointer[] {
  const count = new BigUint64Array(1)
  const array = get(ptr(count))
  return pointersAt(array, Number(count[0]))
}

export interface TopicPartitionOffset {
  topic: string
  partition: number
  /** Offset as librdkafka holds it (negative values are logical offsets or "none"). */
  offset: bigint
  err: number
}

/** `rd_kafka_topic_partition_t` is 64 bytes: topic@0, partition@8, offset@16, err@48. */
const TP_SIZE = 64

/** A new `rd_kafka_topic_partition_list_t *` (the caller destroys it). */
export function newPartitionList(
  entries: readonly { topic: string; partition: number; offset?: bigint }[],
): Pointer {
  const lib = rd()
  const list = lib.rd_kafka_topic_partition_list_new(Math.max(1, entries.length))
  if (list === null) throw new KafkaError('rd_kafka_topic_partition_list_new returned null')
  for (const e of entries) {
    const elem = lib.rd_kafka_topic_partition_list_add(list, cstr(e.topic), e.partition)
    if (elem === null) throw new KafkaError('rd_kafka_topic_partition_list_add returned null')
    if (e.offset !== undefined) new DataView(toArrayBuffer(elem, 0, TP_SIZE)).setBigInt64(16, e.offset, true)
  }
  return list
}

export function readPartitionList(list: Pointer | null): TopicPartitionOffset[] {
  if (list === null) return []
  const count = read.i32(list, 0)
  const elems = read.ptr(list, 8) as Pointer
  const out: TopicPartitionOffset[] = []
  for (let i = 0; i < count; i++) {
    const at = i * TP_SIZE
    out.push({
      topic: new CString(read.ptr(elems, at) as Pointer).toString(),
      partition: read.i32(elems, at + 8),
      offset: read.i64(elems, at + 16),
      err: read.i32(elems, at + 48),
    })
  }
  return out
}

/** Runs `use` with a new partition list and destroys the list afterwards, on every path. */
export function withPartitionList<T>(
  entries: readonly { topic: string; partition: number; offset?: bigint }[],
  use: (list: Pointer) => T,
): T {
  const list = newPartitionList(entries)
  try {
    return use(list)
  } finally {
    rd().rd_kafka_topic_partition_list_destroy(list)
  }
}
