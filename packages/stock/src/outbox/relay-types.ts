/** The relay's public face: its options, its status, and what a process can ask of it. */
import type { Logger, Registry } from '@vehicles/platform'
import type { Database } from '../db/database'
import type { Publisher } from './publisher'

export type RelayState =
  | 'starting'
  | 'standby'
  | 'recovering'
  | 'idle'
  | 'sending'
  | 'backing_off'
  | 'stopped'

export interface RelayOptions {
  db: Database
  publisher: Publisher
  logger: Logger
  registry?: Registry
  /** Rows per read. */
  batchSize: number
  pollIntervalMs: number
  backoffMinMs: number
  backoffMaxMs: number
  /** How long `stop()` keeps sending what is pending before it gives up (default 5 000 ms). */
  flushTimeoutMs?: number
  /** Keep sent rows (marked `sent_at`, pruned later) or delete them when marking (default true). */
  keepSentRows?: boolean
  /** Batches read ahead while a send waits; they leave together as the next send (default 2). */
  concurrency?: number
  /** At most this many rows read ahead, so in one transaction (default 2 000, at least `batchSize`). */
  maxSendRows?: number
}

export interface RelayStatus {
  state: RelayState
  leader: boolean
  consecutiveFailures: number
  lastError?: string
  lastSentAt?: string
  sent: number
  listening: boolean
}

export interface Relay {
  start(): void
  /** Wakes the loop now (a NOTIFY arrived). */
  wake(): void
  /** Reads, sends and marks one batch now (tests); resolves to the number of rows handled. */
  runOnce(): Promise<number>
  /** Finishes the send in flight, sends what is pending while it can, closes the publisher. */
  stop(): Promise<void>
  status(): RelayStatus
}
