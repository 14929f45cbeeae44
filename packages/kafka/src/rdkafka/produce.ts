/**
 * Producing through librdkafka: records go in with `rd_kafka_produceva` (copied, so JS buffers can be
 * collected at once) and come back as delivery-report events on the handle's queue. Each record
 * carries its send's id and its index as the message opaque, so every caller gets exactly its own
 * reports, in the order it gave, with the offset the broker assigned.
 */
import { type Pointer, ptr, read } from 'bun:ffi'
import { KafkaError, KafkaTopicNotFoundError, KafkaUsageError } from '../errors'
import type { DeliveryReport, ProducerOptions, ProducerRecord } from '../types'
import { describeCluster } from './admin-offsets'
import { describeTopicLayouts } from './admin-ops'
import { baseSettings, createNativeClient, EVENT, type NativeClient } from './client'
import { rd } from './library'
import { cstr, ERR, kafkaErrorOf, takeError, toKafkaError } from './native'

export const DEFAULT_DELIVERY_TIMEOUT_MS = 30_000
/** Readiness answers within this (a healthy cluster answers in milliseconds, a dead one never). */
const PING_TIMEOUT_MS = 1_500
/** Record index bits of the message opaque: a send has at most this many records. */
const INDEX_SPAN = 2 ** 20

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

interface PendingSend {
  records: readonly ProducerRecord[]
  reports: (DeliveryReport | undefined)[]
  /** Records enqueued and not yet reported. */
  outstanding: number
  failed: boolean
  resolve: (reports: DeliveryReport[]) => void
  reject: (error: Error) => void
}

export interface ProduceCore {
  readonly client: NativeClient
  /** Enqueues the records and resolves with their reports once every one is acknowledged. */
  produce(records: readonly ProducerRecord[]): Promise<DeliveryReport[]>
  ping(): Promise<void>
  /** Waits (bounded) until nothing is queued or in flight. */
  drain(timeoutMs: number): Promise<void>
  close(): Promise<void>
}

export function validateRecords(records: readonly ProducerRecord[]): void {
  if (records.length >= INDEX_SPAN) throw new KafkaUsageError(`a send has at most ${INDEX_SPAN - 1} records`)
  for (const r of records) {
    if (typeof r.key !== 'string' || r.key.length === 0) {
      throw new KafkaUsageError(`record for ${r.topic} has no key (the key decides the partition)`)
    }
    if (!Buffer.isBuffer(r.value)) throw new KafkaUsageError(`record value for ${r.topic} is not a Buffer`)
  }
}

/**
 * One delivery report. rd_kafka_message_t: err@0, rkt@8, partition@16, payload@24, len@32, key@40,
 * key_len@48, offset@56, _private (the opaque)@64. 64-bit fields are read as two halves: opaques
 * and offsets stay below 2^53, and a number is cheaper than a BigInt per record.
 */
function settleReport(sends: Map<number, PendingSend>, message: Pointer): void {
  const opaque = read.u32(message, 64) + read.u32(message, 68) * 2 ** 32
  const sendId = Math.floor(opaque / INDEX_SPAN)
  const send = sends.get(sendId)
  if (send === undefined) return
  const index = opaque % INDEX_SPAN
  const record = send.records[index] as ProducerRecord
  const err = read.i32(message, 0)
  send.outstanding--
  if (err !== ERR.NO_ERROR) {
    if (!send.failed) {
      send.failed = true
      send.reject(kafkaErrorOf(err, `delivery to ${record.topic}`, undefined, { topic: record.topic }))
    }
  } else {
    send.reports[index] = {
      topic: record.topic,
      partition: read.i32(message, 16),
      offset: String(read.u32(message, 56) + read.i32(message, 60) * 2 ** 32),
      key: record.key,
    }
  }
  if (send.outstanding === 0) {
    sends.delete(sendId)
    if (!send.failed) send.resolve(send.reports as DeliveryReport[])
  }
}

/** Enqueues one record; false when librdkafka's queue is full (wait for reports, then again). */
function enqueue(handle: Pointer, rkt: Pointer, record: ProducerRecord, opaque: number): boolean {
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

/** The producer's librdkafka settings (why each: docs/kafka-client.md, the settings table). */
function producerSettings(
  options: ProducerOptions,
  deliveryTimeoutMs: number,
  extra: Record<string, string>,
): Record<string, string> {
  return {
    ...baseSettings(options.brokers, options.clientId),
    // Idempotence: acks=all, at most 5 requests in flight per broker, ordered retries.
    'enable.idempotence': 'true',
    acks: 'all',
    'max.in.flight.requests.per.connection': '5',
    // Java's DefaultPartitioner for keyed records (murmur2 & 0x7fffffff), as kcat's murmur2_random.
    partitioner: 'murmur2_random',
    'message.timeout.ms': String(deliveryTimeoutMs),
    'linger.ms': '5',
    ...extra,
  }
}

export function createProduceCore(options: ProducerOptions, extra: Record<string, string>): ProduceCore {
  const deliveryTimeoutMs = options.deliveryTimeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS
  const lib = rd()
  const sends = new Map<number, PendingSend>()
  const spaceWaiters: (() => void)[] = []
  let nextSendId = 1

  function onDeliveryReports(event: Pointer): void {
    // A delivery event holds the messages of a produce request.
    for (;;) {
      const message = lib.rd_kafka_event_message_next(event)
      if (message === null) break
      settleReport(sends, message)
    }
    for (const wake of spaceWaiters.splice(0)) wake()
  }

  const client = createNativeClient({
    kind: 'producer',
    settings: producerSettings(options, deliveryTimeoutMs, extra),
    events: EVENT.DR,
    onEvent: (type, event) => {
      if (type === EVENT.DR) onDeliveryReports(event)
    },
  })

  const topicHandles = new Map<string, Pointer>()
  const knownTopics = new Set<string>()
  function topicHandle(topic: string): Pointer {
    let handle = topicHandles.get(topic)
    if (handle === undefined) {
      handle = lib.rd_kafka_topic_new(client.handle, cstr(topic), null) ?? undefined
      if (handle === undefined) throw new KafkaError(`rd_kafka_topic_new(${topic}) failed`)
      topicHandles.set(topic, handle)
    }
    return handle
  }

  /**
   * librdkafka keeps a record for an unknown topic until the topic shows up or the record times out;
   * the module's contract is an immediate KafkaTopicNotFoundError, so a topic is looked up once.
   */
  async function ensureTopics(records: readonly ProducerRecord[]): Promise<void> {
    const unknown = [...new Set(records.map((r) => r.topic))].filter((t) => !knownTopics.has(t))
    if (unknown.length === 0) return
    const layouts = await describeTopicLayouts(client, unknown, Math.min(deliveryTimeoutMs, 10_000))
    for (const layout of layouts) {
      if (layout.partitions === null) throw new KafkaTopicNotFoundError(layout.topic)
      knownTopics.add(layout.topic)
    }
  }

  function waitForSpace(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, 100)
      function done() {
        clearTimeout(timer)
        resolve()
      }
      spaceWaiters.push(done)
    })
  }

  async function produce(records: readonly ProducerRecord[]): Promise<DeliveryReport[]> {
    if (client.closed) throw new KafkaUsageError('producer is disconnected')
    if (records.length === 0) return []
    validateRecords(records)
    await ensureTopics(records)
    const id = nextSendId++
    let send: PendingSend | undefined
    const done = new Promise<DeliveryReport[]>((resolve, reject) => {
      send = { records, reports: new Array(records.length), outstanding: 0, failed: false, resolve, reject }
    })
    const pending = send as PendingSend
    sends.set(id, pending)
    try {
      for (let index = 0; index < records.length; index++) {
        const record = records[index] as ProducerRecord
        while (!enqueue(client.handle, topicHandle(record.topic), record, id * INDEX_SPAN + index)) {
          if (client.closed) throw new KafkaUsageError('producer is disconnected')
          await waitForSpace()
        }
        pending.outstanding++
      }
    } catch (error) {
      // What was enqueued still reports; the entry stays until then, the caller hears now.
      if (!pending.failed) {
        pending.failed = true
        pending.reject(error instanceof Error ? error : new KafkaError(String(error)))
      }
      if (pending.outstanding === 0) sends.delete(id)
    }
    return done
  }

  /** Waits for the reports callers are still awaiting (librdkafka's own requests do not count). */
  async function drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (sends.size > 0 && Date.now() < deadline && !client.closed) await waitForSpace()
  }

  return {
    client,
    produce,
    drain,
    async ping() {
      if (client.closed) throw new KafkaUsageError('producer is disconnected')
      await describeCluster(client, PING_TIMEOUT_MS)
    },
    async close() {
      for (const handle of topicHandles.values()) lib.rd_kafka_topic_destroy(handle)
      topicHandles.clear()
      await client.close()
      for (const [id, send] of sends) {
        sends.delete(id)
        if (!send.failed) send.reject(new KafkaUsageError('producer was disconnected before delivery'))
      }
    },
  }
}
