/**
 * The consumer's fast path: fetch-drain.c, compiled at first use by Bun's built-in C compiler
 * (bun:ffi `cc`, nothing to install), serves the consumer queue in one foreign call per batch instead
 * of about eight per message. Messages come back copied into an arena (one JS buffer per batch, sliced
 * per value, the way Node pools small buffers); any other event comes back alive, in order, for the
 * client's usual event path.
 */
import { cc, type Pointer, ptr } from 'bun:ffi'
import { join } from 'node:path'
import { KafkaError } from '../errors'
import type { ConsumedMessage } from '../types'
import { libraryPath, rd } from './library'
import { type TopicNames, topicNameOf } from './message'

const ROW_WORDS = 13
const ROW = {
  KIND: 0,
  EVENT: 1,
  PARTITION: 2,
  OFFSET: 3,
  TIMESTAMP: 4,
  TOPIC: 5,
  VALUE_AT: 6,
  VALUE_LEN: 7,
  KEY_AT: 8,
  KEY_LEN: 9,
  HEADERS_AT: 10,
  HEADERS: 11,
  MESSAGE: 12,
} as const
const KIND = { MESSAGE: 1, EVENT: 2, NATIVE_MESSAGE: 3 } as const

/** Rows per call: a batch never holds more than this many messages. */
const MAX_ROWS = 512
/**
 * Arena per batch. A new one is started when less than a quarter is left; a message that does not fit
 * what is left is copied the slow way (its event comes back alive), so any size works.
 */
const ARENA_BYTES = 1024 * 1024

function compile() {
  // drain_bind finds the library already loaded (it never loads a second copy).
  rd()
  const compiled = cc({
    source: join(import.meta.dir, 'fetch-drain.c'),
    // No link step against libc: slim images (the services' Docker runtime) have libc.so.6 but not the
    // development link `libc.so`, and the compiler then fails with "library 'c' not found". The few libc
    // functions used (memcpy, dlopen, dlsym) are found in the running process instead.
    flags: ['-nostdlib'],
    symbols: {
      drain_bind: { args: ['cstring'], returns: 'int' },
      drain_fetch: { args: ['ptr', 'int', 'ptr', 'ptr', 'u64', 'ptr'], returns: 'int' },
    },
  })
  const code = compiled.symbols.drain_bind(Buffer.from(`${libraryPath()}\0`))
  if (code !== 0) throw new KafkaError(`fetch-drain: could not bind librdkafka (${code})`)
  return compiled.symbols
}

let native: ReturnType<typeof compile> | undefined
const rows = new Float64Array(MAX_ROWS * ROW_WORDS)
const rowsAt = ptr(rows)
const arenaUsed = new BigUint64Array(1)
const arenaUsedAt = ptr(arenaUsed)
let arena = Buffer.allocUnsafeSlow(ARENA_BYTES)
let arenaAt = ptr(arena)

/** Headers as copied by fetch-drain.c: per header, a u32 name length, the name, a u32 value length, the value. */
function headersAt(at: number, count: number): Record<string, string> {
  const headers: Record<string, string> = {}
  for (let i = 0; i < count; i++) {
    const nameLength = arena.readUInt32LE(at)
    const name = arena.toString('utf8', at + 4, at + 4 + nameLength)
    at += 4 + nameLength
    const valueLength = arena.readUInt32LE(at)
    headers[name] = arena.toString('utf8', at + 4, at + 4 + valueLength)
    at += 4 + valueLength
  }
  return headers
}

function messageOfRow(row: number, topicNames: TopicNames): ConsumedMessage {
  const valueAt = rows[row + ROW.VALUE_AT] as number
  const keyAt = rows[row + ROW.KEY_AT] as number
  const keyLength = rows[row + ROW.KEY_LEN] as number
  const headerCount = rows[row + ROW.HEADERS] as number
  return {
    topic: topicNameOf(rows[row + ROW.TOPIC] as number, topicNames),
    partition: rows[row + ROW.PARTITION] as number,
    offset: String(rows[row + ROW.OFFSET]),
    key: keyLength < 0 ? null : arena.toString('utf8', keyAt, keyAt + keyLength),
    value: arena.subarray(valueAt, valueAt + (rows[row + ROW.VALUE_LEN] as number)),
    headers: headerCount === 0 ? {} : headersAt(rows[row + ROW.HEADERS_AT] as number, headerCount),
    timestamp: rows[row + ROW.TIMESTAMP] as number,
    attempt: 1,
  }
}

export interface DrainTargets {
  topicNames: TopicNames
  /** A message copied by the batch. */
  message(message: ConsumedMessage): void
  /** A message left native (an error, or too big for the arena); valid during the call only. */
  nativeMessage(message: Pointer): void
  /** Any other event; the callee destroys it. */
  event(event: Pointer): void
}

/** Serves up to `max` entries of `queue` to `to`; returns how many were served (0: the queue is empty). */
export function drainFetched(queue: Pointer, max: number, to: DrainTargets): number {
  native ??= compile()
  if (Number(arenaUsed[0]) > ARENA_BYTES * 0.75) {
    // Earlier slices keep the old arena alive as long as their messages are.
    arena = Buffer.allocUnsafeSlow(ARENA_BYTES)
    arenaAt = ptr(arena)
    arenaUsed[0] = 0n
  }
  const written = native.drain_fetch(
    queue,
    Math.min(max, MAX_ROWS),
    rowsAt,
    arenaAt,
    ARENA_BYTES,
    arenaUsedAt,
  )
  for (let i = 0; i < written; i++) {
    const row = i * ROW_WORDS
    const kind = rows[row + ROW.KIND]
    if (kind === KIND.MESSAGE) {
      to.message(messageOfRow(row, to.topicNames))
      continue
    }
    const event = rows[row + ROW.EVENT] as Pointer
    if (kind === KIND.EVENT) {
      to.event(event)
      continue
    }
    try {
      to.nativeMessage(rows[row + ROW.MESSAGE] as Pointer)
    } finally {
      rd().rd_kafka_event_destroy(event)
    }
  }
  return written
}
