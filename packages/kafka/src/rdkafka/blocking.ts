/**
 * The main thread's side of blocking-worker.ts: ONE worker thread PER HANDLE at a time (taken from a
 * pool of idle ones, or started, when the handle has a blocking call to make; back to the pool once
 * none of its calls waits), so a call that hangs on one handle (a transaction coordinator that never answers,
 * a destroy that waits for a stuck broker thread) holds that handle's calls only, never another
 * handle's. A worker costs about 2.6 MiB (started `smol`); handles that never block (a plain
 * producer's or consumer's life until close) need one only for their destroy.
 *
 * Transaction calls run in slices of SLICE_MS (producer.ts): librdkafka says a timed-out init,
 * commit or abort is retriable by calling it again, which resumes the same operation. Between slices
 * the caller can give up (the handle is closing), so nothing queued behind a hanging call on the same
 * handle waits longer than one slice.
 */
import type { Pointer } from 'bun:ffi'
import type { BlockingOp, BlockingRequest, BlockingResponse } from './blocking-worker'
import { libraryPath } from './library'

/** How long one blocking call may hold its handle's worker before it is resumed (or given up). */
export const SLICE_MS = 1_000

export interface BlockingThread {
  /**
   * Runs `op` on the handle's worker; resolves with the `rd_kafka_error_t *` it returned (null: none),
   * which the caller reads and frees (native.takeError).
   */
  run(op: Exclude<BlockingOp, 'metadata'>, timeoutMs?: number): Promise<Pointer | null>
  /** `rd_kafka_metadata` of every topic: the error code and the metadata (the caller destroys it). */
  metadata(timeoutMs: number): Promise<{ code: number; metadata: Pointer | null }>
  /** Ends the worker once nothing is waiting on it (after the handle was destroyed). */
  retire(): void
}

/**
 * Idle workers, for the next handle that has a blocking call to make. Workers are reused instead of
 * terminated: a test process that started and terminated one per closed handle (hundreds) crashed
 * once with a segmentation fault, cause not found; reuse avoids that path and the start-up of a worker
 * per close, and the pool is bounded by the most handles that were ever blocking at the same time.
 */
const idleWorkers: Worker[] = []

function newWorker(): Worker {
  return new Worker(new URL('./blocking-worker.ts', import.meta.url).href, {
    env: { ...process.env, VEHICLES_LIBRDKAFKA_LOADED: libraryPath() },
    smol: true,
  })
}

export function createBlockingThread(handle: Pointer): BlockingThread {
  let worker: Worker | undefined
  const waiting = new Map<number, (response: BlockingResponse) => void>()
  let nextId = 1

  function started(): Worker {
    if (worker !== undefined) return worker
    const next = idleWorkers.pop() ?? newWorker()
    next.onmessage = (event: MessageEvent<BlockingResponse>) => {
      const resolve = waiting.get(event.data.id)
      waiting.delete(event.data.id)
      if (waiting.size === 0) idle(next)
      resolve?.(event.data)
    }
    next.unref()
    worker = next
    return next
  }

  /**
   * Nothing waits: the worker no longer keeps the process alive and goes back to the pool, for this
   * handle's next call or another handle's. Handles that block one after the other (a producer's
   * rotation of transactional ids, a consumer's commits) then share one worker instead of holding one
   * each; a call that hangs still holds only the worker it runs on.
   */
  function idle(thread: Worker): void {
    thread.unref()
    if (worker === thread) worker = undefined
    idleWorkers.push(thread)
  }

  function request(op: BlockingOp, timeoutMs: number): Promise<BlockingResponse> {
    const thread = started()
    const id = nextId++
    return new Promise((resolve) => {
      waiting.set(id, resolve)
      thread.ref()
      thread.postMessage({ id, op, handle: Number(handle), timeoutMs } satisfies BlockingRequest)
    })
  }

  return {
    async run(op, timeoutMs = 0) {
      const response = await request(op, timeoutMs)
      return response.error === 0 ? null : (response.error as Pointer)
    },
    async metadata(timeoutMs) {
      const response = await request('metadata', timeoutMs)
      return { code: response.error, metadata: response.value === 0 ? null : (response.value as Pointer) }
    },
    retire() {
      // A call still running (a destroy past its bound) keeps the thread until it returns; it must
      // not keep the process alive meanwhile.
      worker?.unref()
    },
  }
}
