/**
 * The native side of producing one record: topic handles (one per topic, for the producer's life),
 * the topic check before a first send, and the `rd_kafka_produceva` call.
 */
import { type Pointer, ptr } from 'bun:ffi'
import { KafkaError, KafkaTopicNotFoundError } from '../errors'
import type { ProducerRecord } from '../types'
import { describeTopicLayouts } from './admin-ops'
import type { NativeClient } from './client'
import { rd } from './library'
import { cstr, ERR, takeError, toKafkaError } from './native'

const VTYPE = { RKT: 2, VALUE: 4, KEY: 5, OPAQUE: 6, MSGFLAGS: 7, HEADER: 9 } as const
/** `rd_kafka_vu_t`: the type (int, padded to 8) and a 64-byte union. */
const VU_SIZE = 72
const MSG_F_COPY = 0x2
const TWO_32 = 2 ** 32

/**
 * The argument array of `rd_kafka_produceva`, written into one reused native-addressable buffer: with
 * MSG_F_COPY librdkafka has copied everything it needs when the call returns, so one scratch area
 * serves every record (a fresh buffer, DataView and BigInts per record were most of the producer's
 * JS time). Single-threaded JS: no two calls ever share it at once.
 */
// Over an ArrayBuffer of its own, so the address taken once stays the array's for its whole life.
let vuScratch = new Uint32Array(new ArrayBuffer(VU_SIZE * 16))
let vuScratchAt = ptr(vuScratch)
class VuWriter {
  count = 0
  readonly at: Pointer
  constructor(slots: number) {
    if (slots * VU_SIZE > vuScratch.byteLength) {
      vuScratch = new Uint32Array(new ArrayBuffer(slots * VU_SIZE))
      vuScratchAt = ptr(vuScratch)
    }
    this.at = vuScratchAt
  }
  /** One entry: its type and up to three 64-bit words of its union (pointers, sizes, flags). */
  put(type: number, a: number, b?: number, c?: number): void {
    const word = (this.count * VU_SIZE) / 4
    vuScratch[word] = type
    this.set(word + 2, a)
    if (b !== undefined) this.set(word + 4, b)
    if (c !== undefined) this.set(word + 6, c)
    this.count++
  }
  /** A non-negative integer below 2^53 as a little-endian 64-bit word. */
  private set(word: number, value: number): void {
    vuScratch[word] = value % TWO_32
    vuScratch[word + 1] = Math.floor(value / TWO_32)
  }
}

/** Keys are written into one reused buffer too (librdkafka copies them); long ones get their own. */
const keyScratch = Buffer.allocUnsafeSlow(4096)
const keyScratchAt = ptr(keyScratch)
let longKey: Buffer | undefined
function keyBytes(key: string): { at: number; length: number } {
  if (key.length * 3 <= keyScratch.length) return { at: keyScratchAt, length: keyScratch.write(key) }
  longKey = Buffer.from(key)
  return { at: ptr(longKey), length: longKey.length }
}

/** Enqueues one record; false when librdkafka's queue is full (wait for reports, then again). */
export function enqueue(handle: Pointer, rkt: Pointer, record: ProducerRecord, opaque: number): boolean {
  const lib = rd()
  const headers = record.headers === undefined ? [] : Object.entries(record.headers)
  const vus = new VuWriter(5 + headers.length)
  vus.put(VTYPE.RKT, rkt)
  const key = keyBytes(record.key)
  vus.put(VTYPE.KEY, key.at, key.length)
  // An empty value still needs a valid pointer for ptr(); its length 0 is what counts.
  vus.put(VTYPE.VALUE, record.value.length > 0 ? ptr(record.value) : 0, record.value.length)
  vus.put(VTYPE.MSGFLAGS, MSG_F_COPY)
  vus.put(VTYPE.OPAQUE, opaque)
  // Header buffers must stay referenced until the call returned (librdkafka copies them then).
  const held: Buffer[] = []
  for (const [name, text] of headers) {
    const [n, v] = [cstr(name), Buffer.from(text)]
    held.push(n, v)
    vus.put(VTYPE.HEADER, ptr(n), v.length > 0 ? ptr(v) : 0, v.length)
  }
  const error = takeError(lib.rd_kafka_produceva(handle, vus.at, vus.count))
  if (error === null) return true
  if (error.code === ERR.QUEUE_FULL) return false
  throw toKafkaError(error, `produce to ${record.topic}`, record.topic)
}

/** Topic handles of one producer, and the topics it has seen exist. */
export class ProducerTopics {
  private readonly handles = new Map<string, Pointer>()
  private readonly known = new Set<string>()
  constructor(
    private readonly client: NativeClient,
    private readonly deliveryTimeoutMs: number,
  ) {}

  handle(topic: string): Pointer {
    let handle = this.handles.get(topic)
    if (handle === undefined) {
      handle = rd().rd_kafka_topic_new(this.client.handle, cstr(topic), null) ?? undefined
      if (handle === undefined) throw new KafkaError(`rd_kafka_topic_new(${topic}) failed`)
      this.handles.set(topic, handle)
    }
    return handle
  }

  /**
   * librdkafka keeps a record for an unknown topic until the topic shows up or the record times out;
   * the module's contract is an immediate KafkaTopicNotFoundError, so a topic is looked up once.
   */
  async ensure(records: readonly ProducerRecord[]): Promise<void> {
    const unknown = [...new Set(records.map((r) => r.topic))].filter((t) => !this.known.has(t))
    if (unknown.length === 0) return
    const timeoutMs = Math.min(this.deliveryTimeoutMs, 10_000)
    for (const layout of await describeTopicLayouts(this.client, unknown, timeoutMs)) {
      if (layout.partitions === null) throw new KafkaTopicNotFoundError(layout.topic)
      this.known.add(layout.topic)
    }
  }

  /** Destroys the topic handles (before the producer's handle). */
  close(): void {
    for (const handle of this.handles.values()) rd().rd_kafka_topic_destroy(handle)
    this.handles.clear()
  }
}
