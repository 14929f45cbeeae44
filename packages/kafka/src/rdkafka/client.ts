/**
 * One librdkafka handle (producer or consumer) and its event queue, served on the JS thread.
 *
 * Every event librdkafka has for the application (delivery reports, messages, rebalances, commit
 * results, admin results, errors, logs) lands on ONE queue of the handle; librdkafka writes a byte to a
 * pipe when that queue becomes non-empty (wake.ts), and the JS thread then drains it with
 * `rd_kafka_queue_poll(queue, 0)`. Nothing polls on a timer, and no JS runs on librdkafka's threads.
 */
import type { Pointer } from 'bun:ffi'
import { KafkaError, KafkaUnavailableError } from '../errors'
import { type BlockingThread, createBlockingThread } from './blocking'
import { rd } from './library'
import { cstringIn, kafkaErrorOf, newConf } from './native'
import { registerWake, type WakeRegistration } from './wake'

export const EVENT = {
  DR: 0x1,
  FETCH: 0x2,
  LOG: 0x4,
  ERROR: 0x8,
  REBALANCE: 0x10,
  OFFSET_COMMIT: 0x20,
} as const

/** Admin result events carry the opaque set on their request; everything else goes to `onEvent`. */
const ADMIN_RESULTS = new Set([100, 101, 104, 0x8000, 0x100000, 0x200000, 0x400000])

/** Events served per wake-up before yielding to the event loop (the rest follow on the next turn). */
const EVENTS_PER_TURN = 2_000
/** Served in one wake-up, this many fetched messages mean a stream: look again on the next turn. */
const BUSY_BATCH = 64
/** How long destroying a handle may take before it is abandoned (never block a shutdown). */
const DESTROY_BOUND_MS = 10_000

export interface ClientOptions {
  kind: 'producer' | 'consumer'
  settings: Record<string, string>
  /** `EVENT` flags to enable besides logs and errors. */
  events: number
  /** Called on the JS thread for each event; the event is destroyed right after it returns. */
  onEvent: (type: number, event: Pointer) => void
  /**
   * An error event: one librdkafka reports on its own (broker down, fatal idempotence error), or a
   * consumer's per-partition one (`code` PARTITION_EOF included; `event` is the native event, valid
   * during the call, for `rd_kafka_event_topic_partition`).
   */
  onError?: (error: KafkaError, fatal: boolean, code: number, event: Pointer) => void
  /**
   * Takes up to `max` entries of the queue its own way (the consumer's batched fetch) and hands every
   * event it does not serve itself to `serve`; returns how many it took, 0 when the queue is empty.
   */
  drain?: (queue: Pointer, max: number, serve: (event: Pointer) => void) => number
}

interface AdminRequest {
  read: (event: Pointer) => unknown
  resolve: (value: unknown) => void
  reject: (error: Error) => void
}

export interface NativeClient {
  readonly handle: Pointer
  readonly queue: Pointer
  /** The handle's own thread for librdkafka's blocking calls (blocking.ts). */
  readonly blocking: BlockingThread
  /** Starts an admin request on this handle's queue; `read` turns its result event into a value. */
  admin<T>(
    op: number,
    timeoutMs: number,
    start: (options: Pointer, queue: Pointer) => void,
    read: (event: Pointer) => T,
  ): Promise<T>
  /** Serves whatever is queued now; returns how many events that was. */
  pump(): number
  readonly closed: boolean
  /** Stops serving events and destroys the handle (bounded). Idempotent. */
  close(): Promise<void>
}

/** A new handle with its event queue (logs routed there too); nothing is left behind on failure. */
function openHandle(options: ClientOptions): { handle: Pointer; queue: Pointer } {
  const lib = rd()
  const conf = newConf({ 'log.queue': 'true', ...options.settings }, options.events | EVENT.ERROR | EVENT.LOG)
  const errstr = Buffer.alloc(512)
  // rd_kafka_new takes the conf over on success only.
  const handle = lib.rd_kafka_new(options.kind === 'producer' ? 0 : 1, conf, errstr, errstr.length)
  if (handle === null) {
    lib.rd_kafka_conf_destroy(conf)
    throw new KafkaError(`rd_kafka_new: ${cstringIn(errstr)}`)
  }
  if (options.kind === 'consumer') lib.rd_kafka_poll_set_consumer(handle)
  const queue =
    options.kind === 'consumer'
      ? lib.rd_kafka_queue_get_consumer(handle)
      : lib.rd_kafka_queue_get_main(handle)
  if (queue === null) {
    lib.rd_kafka_destroy(handle)
    throw new KafkaError('librdkafka returned no queue for the handle')
  }
  // Logs come as events on the same queue instead of being printed from librdkafka's threads.
  lib.rd_kafka_set_log_queue(handle, queue)

  return { handle, queue }
}

/** One event: an admin result to its request, an error to `onError`, the rest to `onEvent`. */
function serveEvent(event: Pointer, options: ClientOptions, requests: Map<number, AdminRequest>): void {
  const lib = rd()
  const type = lib.rd_kafka_event_type(event)
  if (ADMIN_RESULTS.has(type)) {
    const id = Number(lib.rd_kafka_event_opaque(event) ?? 0)
    const request = requests.get(id)
    requests.delete(id)
    if (request === undefined) return
    try {
      request.resolve(request.read(event))
    } catch (error) {
      request.reject(error instanceof Error ? error : new KafkaError(String(error)))
    }
    return
  }
  if (type === EVENT.ERROR) {
    const code = lib.rd_kafka_event_error(event)
    const fatal = lib.rd_kafka_event_error_is_fatal(event) !== 0
    const detail = String(lib.rd_kafka_event_error_string(event))
    options.onError?.(kafkaErrorOf(code, 'librdkafka', detail, { fatal }), fatal, code, event)
    return
  }
  if (type === EVENT.LOG) return
  options.onEvent(type, event)
}

/** Starts an admin request whose result event will carry `target.id` as its opaque. */
function startAdmin<T>(
  target: { handle: Pointer; queue: Pointer; requests: Map<number, AdminRequest>; id: number },
  op: number,
  timeoutMs: number,
  start: (adminOptions: Pointer, queue: Pointer) => void,
  read: (event: Pointer) => T,
): Promise<T> {
  const lib = rd()
  const { handle, queue, requests, id } = target
  const adminOptions = lib.rd_kafka_AdminOptions_new(handle, op)
  if (adminOptions === null) return Promise.reject(new KafkaError(`AdminOptions_new(${op}) failed`))
  try {
    const errstr = Buffer.alloc(512)
    lib.rd_kafka_AdminOptions_set_request_timeout(adminOptions, timeoutMs, errstr, errstr.length)
    lib.rd_kafka_AdminOptions_set_opaque(adminOptions, id as unknown as Pointer)
    const result = new Promise<T>((resolve, reject) => {
      requests.set(id, { read, resolve: resolve as (value: unknown) => void, reject })
    })
    start(adminOptions, queue)
    return result
  } catch (error) {
    requests.delete(id)
    return Promise.reject(error)
  } finally {
    // The request keeps its own copy of the options.
    lib.rd_kafka_AdminOptions_destroy(adminOptions)
  }
}

/**
 * Serves what is queued now, up to a turn's worth; returns how many events that was. The consumer
 * takes its queue in batches (`drain`); other handles poll event by event.
 */
function queuePump(
  options: ClientOptions,
  queue: Pointer,
  requests: Map<number, AdminRequest>,
  isClosed: () => boolean,
): () => number {
  const lib = rd()
  let scheduled = false
  function serveOne(event: Pointer): void {
    try {
      serveEvent(event, options, requests)
    } finally {
      lib.rd_kafka_event_destroy(event)
    }
  }
  function pollOne(): number {
    const event = lib.rd_kafka_queue_poll(queue, 0)
    if (event === null) return 0
    serveOne(event)
    return 1
  }
  function pump(): number {
    if (isClosed()) return 0
    let served = 0
    while (served < EVENTS_PER_TURN) {
      const taken = options.drain ? options.drain(queue, EVENTS_PER_TURN - served, serveOne) : pollOne()
      if (taken === 0) break
      served += taken
      // An event served may have closed the client (and destroyed the queue).
      if (isClosed()) return served
    }
    // A busy queue (a turn's worth, or a burst of messages) is looked at again on the next turn, so timers
    // and I/O get their share meanwhile and what librdkafka queued meanwhile is taken without waiting for
    // the wake-up byte's trip through the event loop. Only after serving something: an idle client stops.
    if (served >= (options.drain ? BUSY_BATCH : EVENTS_PER_TURN) && !scheduled) {
      scheduled = true
      setImmediate(() => {
        scheduled = false
        pump()
      })
    }
    return served
  }
  return pump
}

export function createNativeClient(options: ClientOptions): NativeClient {
  const lib = rd()
  const { handle, queue } = openHandle(options)

  const requests = new Map<number, AdminRequest>()
  let nextOpaque = 1
  let closed = false
  let closing: Promise<void> | undefined
  const pump = queuePump(options, queue, requests, () => closed)

  let pipe: WakeRegistration
  try {
    pipe = registerWake(pump)
  } catch (error) {
    lib.rd_kafka_queue_destroy(queue)
    lib.rd_kafka_destroy(handle)
    throw error
  }
  const blocking = createBlockingThread(handle)
  const wakeByte = Buffer.from([1])
  lib.rd_kafka_queue_io_event_enable(queue, pipe.writeFd, wakeByte, wakeByte.length)

  return {
    handle,
    queue,
    blocking,
    get closed() {
      return closed
    },
    pump,

    admin(op, timeoutMs, start, read) {
      if (closed) return Promise.reject(new KafkaUnavailableError('the Kafka client is closed'))
      return startAdmin({ handle, queue, requests, id: nextOpaque++ }, op, timeoutMs, start, read)
    },

    close() {
      closing ??= (async () => {
        closed = true
        lib.rd_kafka_queue_io_event_enable(queue as Pointer, -1, null, 0)
        pipe.close()
        for (const request of requests.values()) {
          request.reject(new KafkaUnavailableError('the Kafka client was closed before the answer came'))
        }
        requests.clear()
        lib.rd_kafka_queue_destroy(queue as Pointer)
        // rd_kafka_destroy waits for librdkafka's threads: off the JS thread, and not forever.
        // On the handle's own worker, after whatever slice of a blocking call is running there.
        await Promise.race([blocking.run('destroy'), Bun.sleep(DESTROY_BOUND_MS)])
        blocking.retire()
      })()
      return closing
    },
  }
}

/** Configuration every handle of the module shares. */
export function baseSettings(brokers: readonly string[], clientId: string): Record<string, string> {
  return {
    'bootstrap.servers': brokers.join(','),
    'client.id': clientId,
    // The cluster's topics are created on purpose, never by a typo in a producer or consumer.
    'allow.auto.create.topics': 'false',
    'socket.keepalive.enable': 'true',
    // Fail over quickly: the brokers' ZooKeeper session is 6 s; do not wait minutes for dead sockets.
    'socket.timeout.ms': '10000',
    'reconnect.backoff.max.ms': '2000',
    'topic.metadata.refresh.interval.ms': '10000',
  }
}
