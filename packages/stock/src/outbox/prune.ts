/**
 * Retention: sent outbox rows and old idempotency keys are deleted in bounded chunks, so a large
 * backlog of old rows never turns into one long-locking delete. Failed and pending rows are never pruned.
 */
import { Counter, type Logger, type Registry } from '@vehicles/platform'
import type { Database } from '../db/database'

const CHUNK = 5_000

const PRUNE_OUTBOX = `delete from outbox where id in (
    select id from outbox where sent_at is not null and sent_at < now() - ($1::bigint * interval '1 millisecond')
    limit ${CHUNK})`

const PRUNE_KEYS = `delete from idempotency_keys where key in (
    select key from idempotency_keys where created_at < now() - ($1::bigint * interval '1 millisecond')
    limit ${CHUNK})`

export interface PrunerOptions {
  db: Database
  logger: Logger
  registry?: Registry
  outboxRetentionMs: number
  idempotencyRetentionMs: number
  intervalMs: number
}

export function createPruner(options: PrunerOptions) {
  const { db, logger } = options
  const pruned = new Counter({
    name: 'outbox_pruned_rows_total',
    help: 'rows deleted by retention, by table',
    labelNames: ['table'] as const,
    registers: options.registry === undefined ? [] : [options.registry],
  })
  let timer: ReturnType<typeof setInterval> | undefined
  let running: Promise<void> | undefined

  const deleteAll = async (text: string, retention: number): Promise<number> => {
    let total = 0
    for (;;) {
      const rows = await db.query(`${text} returning 1`, [retention])
      total += rows.length
      if (rows.length < CHUNK) return total
    }
  }

  async function pruneOnce(): Promise<{ outbox: number; idempotencyKeys: number }> {
    const outbox = await deleteAll(PRUNE_OUTBOX, options.outboxRetentionMs)
    const idempotencyKeys = await deleteAll(PRUNE_KEYS, options.idempotencyRetentionMs)
    pruned.inc({ table: 'outbox' }, outbox)
    pruned.inc({ table: 'idempotency_keys' }, idempotencyKeys)
    if (outbox + idempotencyKeys > 0) {
      logger.info(
        'outbox.pruned',
        `pruned ${outbox} sent outbox row(s), ${idempotencyKeys} idempotency key(s)`,
      )
    }
    return { outbox, idempotencyKeys }
  }

  return {
    pruneOnce,
    start() {
      timer = setInterval(() => {
        if (running !== undefined) return
        running = pruneOnce()
          .then(() => undefined)
          .catch((error: unknown) =>
            logger.warn('outbox.prune_failed', 'pruning failed; will retry', { error }),
          )
          .finally(() => {
            running = undefined
          })
      }, options.intervalMs)
    },
    async stop() {
      clearInterval(timer)
      await running
    },
  }
}
