/**
 * Producing through librdkafka: records go in with `rd_kafka_produceva` (copied, so JS buffers can be
 * collected at once) and come back as delivery-report events on the handle's queue. Each record
 * carries its send's id and its index as the message opaque, so every caller gets exactly its own
 * reports, in the order it gave, with the offset the broker assigned.
 */
import { type Pointer, read } from 'bun:ffi'
import { KafkaError, KafkaUsageError } from '../errors'
import type { DeliveryReport, ProducerOptions, ProducerRecord } from '../types'
import { describeCluster } from './admin-offsets'
import { baseSettings, createNativeClient, EVENT, type NativeClient } from './client'
import { rd } from './library'
import { ERR, kafkaErrorOf } from './native'
import { enqueue, ProducerTopics } from './produce-native'

export const DEFAULT_DELIVERY_TIMEOUT_MS = 30_000
/** Readiness answers within this (a healthy cluster answers in milliseconds, a dead one never). */
const PING_TIMEOUT_MS = 1_500
/** Record index bits of the message opaque: a send has at most this many records. */
const INDEX_SPAN = 2 ** 20

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
  /**
   * Resolves once every record is in librdkafka's queue, with the promise of their reports: a
   * transaction commits right then (its commit flushes the queue without waiting for `linger.ms`).
   */
  enqueue(records: readonly ProducerRecord[]): Promise<{ delivered: Promise<DeliveryReport[]> }>
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

/** A delivery event holds the messages of a produce request; each settles its record. */
function serveDeliveryReports(event: Pointer, sends: Map<number, PendingSend>, waiters: (() => void)[]) {
  for (;;) {
    const message = rd().rd_kafka_event_message_next(event)
    if (message === null) break
    settleReport(sends, message)
  }
  for (const wake of waiters.splice(0)) wake()
}

/** Resolves at the next delivery report (space freed in librdkafka's queue), or after 100 ms. */
function waitForSpace(waiters: (() => void)[]): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, 100)
    function done() {
      clearTimeout(timer)
      resolve()
    }
    waiters.push(done)
  })
}

export function createProduceCore(options: ProducerOptions, extra: Record<string, string>): ProduceCore {
  const deliveryTimeoutMs = options.deliveryTimeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS
  const sends = new Map<number, PendingSend>()
  const spaceWaiters: (() => void)[] = []
  let nextSendId = 1

  const client = createNativeClient({
    kind: 'producer',
    settings: producerSettings(options, deliveryTimeoutMs, extra),
    events: EVENT.DR,
    onEvent: (type, event) => {
      if (type === EVENT.DR) serveDeliveryReports(event, sends, spaceWaiters)
    },
  })

  const topics = new ProducerTopics(client, deliveryTimeoutMs)

  async function enqueueAll(
    records: readonly ProducerRecord[],
  ): Promise<{ delivered: Promise<DeliveryReport[]> }> {
    if (client.closed) throw new KafkaUsageError('producer is disconnected')
    if (records.length === 0) return { delivered: Promise.resolve([]) }
    validateRecords(records)
    await topics.ensure(records)
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
        while (!enqueue(client.handle, topics.handle(record.topic), record, id * INDEX_SPAN + index)) {
          if (client.closed) throw new KafkaUsageError('producer is disconnected')
          await waitForSpace(spaceWaiters)
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
    return { delivered: done }
  }

  /** Waits for the reports callers are still awaiting (librdkafka's own requests do not count). */
  async function drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (sends.size > 0 && Date.now() < deadline && !client.closed) await waitForSpace(spaceWaiters)
  }

  return {
    client,
    produce: async (records) => (await enqueueAll(records)).delivered,
    enqueue: enqueueAll,
    drain,
    async ping() {
      if (client.closed) throw new KafkaUsageError('producer is disconnected')
      await describeCluster(client, PING_TIMEOUT_MS)
    },
    async close() {
      topics.close()
      await client.close()
      for (const [id, send] of sends) {
        sends.delete(id)
        if (!send.failed) send.reject(new KafkaUsageError('producer was disconnected before delivery'))
      }
    },
  }
}
