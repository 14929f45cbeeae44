/**
 * Puts the outbox machinery of one process together: relay (when Kafka is configured and the relay is
 * enabled), pruning, backlog metrics, and their readiness checks. None of them is critical: with Kafka
 * or the registry away the service keeps taking writes (that is what the outbox is for) and says so in
 * `/health/ready` as `degraded`, with the backlog.
 */
import {
  degradedWithout,
  type Logger,
  type Readiness,
  type ReadinessCheck,
  type Registry,
} from '@vehicles/platform'
import type { StockConfig } from '../config'
import type { Database } from '../db/database'
import { readBacklog, registerBacklogMetrics } from './backlog'
import { createPruner } from './prune'
import { createRelay, type Relay } from './relay'

/**
 * One transactional id per outbox, the same in every process that relays it: derived from where the
 * outbox lives (the database's host, port and name; PGlite's folder), never from the process. Two
 * outboxes on one Kafka cluster (test databases, a second deployment) then never fence each other.
 */
export function defaultTransactionalId(config: Pick<StockConfig, 'DATABASE_URL' | 'PGLITE_DIR'>): string {
  if (config.DATABASE_URL === undefined) return `vehicles-stock.outbox@pglite:${config.PGLITE_DIR}`
  const url = new URL(config.DATABASE_URL)
  return `vehicles-stock.outbox@${url.hostname}:${url.port || '5432'}${url.pathname}`
}

export interface OutboxRuntime {
  relay?: Relay
  stop(): Promise<void>
}

type OutboxInput = Parameters<typeof startOutbox>[0]

/** Why this process does not relay, or undefined when it does. */
function relayOffReason(config: StockConfig): string | undefined {
  if (!config.RELAY_ENABLED) return 'relay disabled (RELAY_ENABLED=false): another process relays this outbox'
  if (config.KAFKA_BROKERS === undefined || config.SCHEMA_REGISTRY_URL === undefined)
    return 'KAFKA_BROKERS is not set: events stay in the outbox until a relay with Kafka runs'
  return undefined
}

/** The relay, its publisher and their readiness checks (Kafka and the registry: degraded, not fatal). */
async function startRelay({
  config,
  db,
  logger,
  registry,
  readiness,
  clientId,
}: OutboxInput): Promise<Relay> {
  const brokers = config.KAFKA_BROKERS ?? ''
  const registryUrl = config.SCHEMA_REGISTRY_URL ?? ''
  // Loaded only when this process relays: the Kafka client is most of a process's memory, and an
  // HTTP-only instance (RELAY_ENABLED=false) need not carry it.
  const { createKafkaPublisher } = await import('./publisher')
  const publisher = createKafkaPublisher({
    brokers: brokers.split(','),
    registryUrl,
    clientId,
    deliveryTimeoutMs: config.KAFKA_DELIVERY_TIMEOUT_MS,
    transactionalId: config.RELAY_TRANSACTIONAL_ID ?? defaultTransactionalId(config),
  })
  const relay = createRelay({
    db,
    publisher,
    logger,
    registry,
    batchSize: config.RELAY_BATCH_SIZE,
    concurrency: config.RELAY_CONCURRENCY,
    keepSentRows: config.OUTBOX_RETENTION_MS > 0,
    pollIntervalMs: config.RELAY_POLL_INTERVAL_MS,
    backoffMinMs: config.RELAY_BACKOFF_MIN_MS,
    backoffMaxMs: config.RELAY_BACKOFF_MAX_MS,
    flushTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  })
  relay.start()
  readiness.register(degradedWithout('kafka', () => publisher.ping()))
  readiness.register({
    name: 'registry',
    critical: false,
    timeoutMs: 2_000,
    check: async () => {
      const response = await fetch(`${registryUrl}/subjects`, { signal: AbortSignal.timeout(1_900) })
      await response.body?.cancel()
      return response.ok ? { ok: true } : { ok: false, error: `registry answered ${response.status}` }
    },
  })
  return relay
}

/** The outbox's backlog and the relay's state; not ready while the relay backs off, is stopped or is off. */
function outboxCheck(db: Database, relay: Relay | undefined, why: string | undefined): ReadinessCheck {
  return {
    name: 'outbox',
    critical: false,
    timeoutMs: 1_000,
    check: async () => {
      const backlog = await readBacklog(db)
      if (relay === undefined) return { ok: false, error: why, detail: { relay: 'off', ...backlog } }
      const status = relay.status()
      return {
        ok: status.state !== 'backing_off' && status.state !== 'stopped',
        ...(status.lastError !== undefined ? { error: status.lastError } : {}),
        detail: { relay: status.state, ...backlog, sent: status.sent, listening: status.listening },
      }
    },
  }
}

export async function startOutbox(input: {
  config: StockConfig
  db: Database
  logger: Logger
  registry: Registry
  readiness: Readiness
  clientId: string
}): Promise<OutboxRuntime> {
  const { config, db, logger, registry, readiness } = input
  registerBacklogMetrics(db, registry)
  const pruner = createPruner({
    db,
    logger,
    registry,
    outboxRetentionMs: config.OUTBOX_RETENTION_MS,
    idempotencyRetentionMs: config.IDEMPOTENCY_RETENTION_MS,
    intervalMs: config.PRUNE_INTERVAL_MS,
  })
  pruner.start()

  const why = relayOffReason(config)
  const relay = why === undefined ? await startRelay(input) : undefined
  if (why !== undefined) logger.warn('outbox.relay.off', why)
  readiness.register(outboxCheck(db, relay, why))

  return {
    ...(relay !== undefined ? { relay } : {}),
    async stop() {
      await pruner.stop()
      await relay?.stop()
    },
  }
}
