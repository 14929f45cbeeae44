/**
 * The main thread's side of blocking-worker.ts: one worker for the process, started on first use,
 * kept from holding the process open while it has nothing to do.
 */
import type { Pointer } from 'bun:ffi'
import type { BlockingOp, BlockingRequest, BlockingResponse } from './blocking-worker'
import { libraryPath } from './library'

let worker: Worker | undefined
const waiting = new Map<number, (response: BlockingResponse) => void>()
let nextId = 1

function started(): Worker {
  if (worker !== undefined) return worker
  const next = new Worker(new URL('./blocking-worker.ts', import.meta.url).href, {
    env: { ...process.env, VEHICLES_LIBRDKAFKA_LOADED: libraryPath() },
  })
  next.onmessage = (event: MessageEvent<BlockingResponse>) => {
    const resolve = waiting.get(event.data.id)
    waiting.delete(event.data.id)
    if (waiting.size === 0) next.unref()
    resolve?.(event.data)
  }
  next.unref()
  worker = next
  return next
}

/**
 * Runs `op` on the worker thread; resolves with the `rd_kafka_error_t *` it returned (null: none),
 * which the caller reads and frees (native.takeError).
 */
export async function runBlocking(op: BlockingOp, handle: Pointer, timeoutMs = 0): Promise<Pointer | null> {
  const response = await request(op, handle, timeoutMs)
  return response.error === 0 ? null : (response.error as Pointer)
}

/** `rd_kafka_metadata` of every topic: the error code and the metadata (the caller destroys it). */
export async function fetchMetadata(
  handle: Pointer,
  timeoutMs: number,
): Promise<{ code: number; metadata: Pointer | null }> {
  const response = await request('metadata', handle, timeoutMs)
  return { code: response.error, metadata: response.value === 0 ? null : (response.value as Pointer) }
}

function request(op: BlockingOp, handle: Pointer, timeoutMs: number): Promise<BlockingResponse> {
  const thread = started()
  const id = nextId++
  return new Promise((resolve) => {
    waiting.set(id, resolve)
    thread.ref()
    thread.postMessage({ id, op, handle: Number(handle), timeoutMs } satisfies BlockingRequest)
  })
}
