/**
 * Wakes the JS thread when a librdkafka queue becomes non-empty, without polling.
 *
 * librdkafka writes a byte to a file descriptor when a queue goes from empty to non-empty
 * (`rd_kafka_queue_io_event_enable`); the JS side watches the read end of a pipe and drains the queues.
 * Under Bun 1.4.5 the only watcher that reliably wakes is `fs.createReadStream` on a BLOCKING pipe
 * (a non-blocking read end fails with EAGAIN there, and a `net.Socket` on the fd never fires). Such a
 * stream keeps one blocking read pending on a thread of Bun's pool, so the process has ONE pipe that
 * every handle's queue writes to (seen: with a pipe per handle, the third handle's wake-ups never
 * arrived), and a wake-up drains every registered queue (an empty one costs one call).
 *
 * The write end alone is made non-blocking, as librdkafka requires of the descriptor it writes to (a
 * full pipe must never stall its threads; the two ends are separate open files, so the read end stays
 * blocking). When the last handle unregisters, the write end is closed: the pending read returns
 * end-of-file, the stream closes the read end, and nothing keeps the process alive.
 */

import { dlopen, FFIType, ptr } from 'bun:ffi'
import { createReadStream } from 'node:fs'
import { KafkaError } from '../errors'

const O_CLOEXEC = 0o2000000
const O_NONBLOCK = 0o4000
const F_GETFL = 3
const F_SETFL = 4

let libc: ReturnType<typeof openLibc> | undefined
function openLibc() {
  return dlopen('libc.so.6', {
    pipe2: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
    // Variadic in C; with three ints the x86-64 and arm64 Linux calling conventions match a plain call.
    fcntl: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  })
}

const listeners = new Set<() => number>()
let writeFd: number | undefined
let sweeper: ReturnType<typeof setInterval> | undefined

/**
 * A wake-up librdkafka skipped (it writes only when a queue goes from empty to one element, and a
 * poll can return early on an internal yield) would leave events waiting until the next one. A sweep
 * once a second serves such leftovers; `missedWakeups` counts the sweeps that found any, so a lost
 * wake-up is visible in the benchmarks instead of hidden as latency.
 */
const SWEEP_MS = 1_000
export const wakeStats = { wakeups: 0, missedWakeups: 0 }

function serveAll(): number {
  let served = 0
  for (const pump of [...listeners]) served += pump()
  return served
}

function openPipe(): number {
  libc ??= openLibc()
  const c = libc.symbols
  const fds = new Int32Array(2)
  if (c.pipe2(ptr(fds), O_CLOEXEC) !== 0) throw new KafkaError('pipe2 failed')
  const [readEnd, writeEnd] = [fds[0] as number, fds[1] as number]
  const flags = c.fcntl(writeEnd, F_GETFL, 0)
  if (flags < 0 || c.fcntl(writeEnd, F_SETFL, flags | O_NONBLOCK) !== 0) {
    c.close(readEnd)
    c.close(writeEnd)
    throw new KafkaError('fcntl(O_NONBLOCK) on the wake pipe failed')
  }
  const stream = createReadStream('', { fd: readEnd, autoClose: true, highWaterMark: 64 })
  stream.on('data', () => {
    wakeStats.wakeups++
    serveAll()
  })
  // A read error would stop the wake-ups for good; there is nothing to retry on a local pipe.
  stream.on('error', () => {})
  return writeEnd
}

export interface WakeRegistration {
  /** The descriptor librdkafka writes to. */
  readonly writeFd: number
  /** No more `onWake` calls for this registration. Idempotent. */
  close(): void
}

export function registerWake(onWake: () => number): WakeRegistration {
  writeFd ??= openPipe()
  const fd = writeFd
  listeners.add(onWake)
  if (sweeper === undefined) {
    sweeper = setInterval(() => {
      if (serveAll() > 0) wakeStats.missedWakeups++
    }, SWEEP_MS)
    sweeper.unref()
  }
  return {
    writeFd: fd,
    close() {
      if (!listeners.delete(onWake) || listeners.size > 0 || writeFd === undefined) return
      // End-of-file for the pending read: the stream ends and closes the read end.
      libc?.symbols.close(writeFd)
      writeFd = undefined
      clearInterval(sweeper)
      sweeper = undefined
    },
  }
}
