/**
 * Runs librdkafka's blocking calls (transactions, destroy) on a thread of their own, so the JS thread
 * that serves HTTP and Kafka events never waits for a broker round trip. Handles arrive as pointer
 * values; librdkafka's API is thread-safe. Only this file's own functions run here, never JS of the
 * main thread.
 */
import { dlopen, FFIType, type Pointer, ptr as pointerTo } from 'bun:ffi'

declare const self: Worker

const { ptr, i32, void: none } = FFIType
const lib = dlopen(String(process.env.VEHICLES_LIBRDKAFKA_LOADED), {
  rd_kafka_init_transactions: { args: [ptr, i32], returns: ptr },
  rd_kafka_commit_transaction: { args: [ptr, i32], returns: ptr },
  rd_kafka_abort_transaction: { args: [ptr, i32], returns: ptr },
  rd_kafka_destroy: { args: [ptr], returns: none },
  rd_kafka_metadata: { args: [ptr, i32, ptr, ptr, i32], returns: i32 },
}).symbols

export type BlockingOp =
  | 'init_transactions'
  | 'commit_transaction'
  | 'abort_transaction'
  | 'destroy'
  | 'metadata'
export interface BlockingRequest {
  id: number
  op: BlockingOp
  handle: number
  timeoutMs: number
}
/**
 * `error`: an `rd_kafka_error_t *` for the main thread to read and free (0 = success); for `metadata`
 * the error code instead, and `value` the `rd_kafka_metadata_t *` to read and destroy.
 */
export interface BlockingResponse {
  id: number
  error: number
  value: number
}

self.onmessage = (event: MessageEvent<BlockingRequest>) => {
  const { id, op, handle, timeoutMs } = event.data
  const rk = handle as Pointer
  // Pointer results are numbers or null on 64-bit Linux (bun:ffi's type also allows bigint).
  let error: Pointer | null = null
  if (op === 'metadata') {
    const out = new BigUint64Array(1)
    const code = lib.rd_kafka_metadata(rk, 1, null, pointerTo(out), timeoutMs)
    self.postMessage({ id, error: code, value: Number(out[0]) } satisfies BlockingResponse)
    return
  }
  if (op === 'init_transactions') error = lib.rd_kafka_init_transactions(rk, timeoutMs) as Pointer | null
  else if (op === 'commit_transaction')
    error = lib.rd_kafka_commit_transaction(rk, timeoutMs) as Pointer | null
  else if (op === 'abort_transaction') error = lib.rd_kafka_abort_transaction(rk, timeoutMs) as Pointer | null
  else lib.rd_kafka_destroy(rk)
  self.postMessage({ id, error: error === null ? 0 : Number(error), value: 0 } satisfies BlockingResponse)
}
