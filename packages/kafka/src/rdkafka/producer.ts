import type { Pointer } from 'bun:ffi'
import { type KafkaError, KafkaFencedError, KafkaUsageError } from '../errors'
import type {
  DeliveryReport,
  Producer,
  ProducerOptions,
  ProducerRecord,
  TransactionalProducer,
  TransactionalProducerOptions,
} from '../types'
import { runBlocking } from './blocking'
import { rd } from './library'
import { cstringIn, kafkaErrorOf, type NativeError, takeError, toKafkaError } from './native'
import { createProduceCore, DEFAULT_DELIVERY_TIMEOUT_MS, validateRecords } from './produce'

const DEFAULT_TRANSACTION_TIMEOUT_MS = 60_000

/** Idempotent producer (acks=all, 5 in flight, murmur2_random) over librdkafka. */
export function createRdProducer(options: ProducerOptions): Producer {
  if (options.brokers.length === 0) throw new KafkaUsageError('createProducer: brokers is empty')
  const deliveryTimeoutMs = options.deliveryTimeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS
  const core = createProduceCore(options, {})
  let disconnected = false
  return {
    async connect() {
      if (disconnected) throw new KafkaUsageError('producer is disconnected')
      await core.ping()
    },
    async send(records) {
      if (disconnected) throw new KafkaUsageError('producer is disconnected')
      return core.produce(records)
    },
    ping: () => core.ping(),
    async disconnect() {
      if (disconnected) return
      disconnected = true
      // What callers still await gets its answer (delivery or timeout) before the handle goes.
      await core.drain(deliveryTimeoutMs)
      await core.close()
    },
  }
}

/**
 * Transactional producer. librdkafka's transaction calls block until the coordinator answers, so they
 * run on the blocking worker (blocking.ts); `begin_transaction` is local and runs here.
 */
export function createRdTransactionalProducer(options: TransactionalProducerOptions): TransactionalProducer {
  if (options.brokers.length === 0) throw new KafkaUsageError('createTransactionalProducer: brokers is empty')
  if (options.transactionalId.length === 0) throw new KafkaUsageError('transactionalId is empty')
  const deliveryTimeoutMs = options.deliveryTimeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS
  const transactionTimeoutMs = options.transactionTimeoutMs ?? DEFAULT_TRANSACTION_TIMEOUT_MS
  const core = createProduceCore(options, {
    'transactional.id': options.transactionalId,
    'transaction.timeout.ms': String(transactionTimeoutMs),
    // librdkafka requires the delivery timeout to fit in the transaction's.
    'message.timeout.ms': String(Math.min(deliveryTimeoutMs, transactionTimeoutMs)),
  })
  const lib = rd()
  const handle = core.client.handle
  let fenced: KafkaFencedError | undefined
  let connected = false
  let disconnected = false
  /** One transaction at a time: each call waits for the previous one to settle. */
  let tail: Promise<unknown> = Promise.resolve()

  /** A failed transaction call as the module's error; fatal ones (fencing above all) stick. */
  function failure(error: NativeError, context: string): KafkaError {
    if (error.fatal) {
      const errstr = Buffer.alloc(512)
      const code = lib.rd_kafka_fatal_error(handle, errstr, errstr.length)
      const typed = kafkaErrorOf(code || error.code, context, cstringIn(errstr) || error.message, {
        fatal: true,
      })
      if (typed instanceof KafkaFencedError) fenced = typed
      return fenced ?? typed
    }
    return toKafkaError(error, context)
  }

  async function call(
    op: 'init_transactions' | 'commit_transaction' | 'abort_transaction',
    context: string,
  ): Promise<void> {
    const error = takeError(await runBlocking(op, handle as Pointer, deliveryTimeoutMs))
    if (error !== null) throw failure(error, context)
  }

  async function abortQuietly(): Promise<void> {
    try {
      await call('abort_transaction', 'abort transaction')
    } catch {
      // Fencing is remembered by failure(); anything else leaves the next begin to report the state.
    }
  }

  async function transaction(records: readonly ProducerRecord[]): Promise<DeliveryReport[]> {
    if (fenced !== undefined) throw fenced
    const begun = takeError(lib.rd_kafka_begin_transaction(handle))
    if (begun !== null) throw failure(begun, 'begin transaction')
    let reports: DeliveryReport[]
    try {
      reports = await core.produce(records)
    } catch (error) {
      await abortQuietly()
      throw fenced ?? error
    }
    try {
      await call('commit_transaction', 'commit transaction')
    } catch (error) {
      if (fenced === undefined) await abortQuietly()
      throw fenced ?? error
    }
    return reports
  }

  return {
    async connect() {
      if (disconnected) throw new KafkaUsageError('producer is disconnected')
      if (connected) return
      await call('init_transactions', `init transactions of ${options.transactionalId}`)
      connected = true
    },
    sendTransaction(records) {
      if (disconnected) return Promise.reject(new KafkaUsageError('producer is disconnected'))
      if (!connected) return Promise.reject(new KafkaUsageError('sendTransaction before connect'))
      try {
        validateRecords(records)
      } catch (error) {
        return Promise.reject(error)
      }
      const run = tail.then(() => transaction(records))
      tail = run.catch(() => undefined)
      return run
    },
    ping: () => core.ping(),
    async disconnect() {
      if (disconnected) return
      disconnected = true
      await Promise.race([tail, Bun.sleep(deliveryTimeoutMs)])
      await core.close()
    },
  }
}
