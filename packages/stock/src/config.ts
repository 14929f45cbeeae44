/** vehicles-stock configuration: the only module that reads the environment (validated at boot). */
import { join } from 'node:path'
import { type Static, Type } from '@sinclair/typebox'
import { LogLevelSchema, loadConfig, parseConfig } from '@vehicles/platform'

const Int = (min: number, max: number, def: number, description: string) =>
  Type.Integer({ minimum: min, maximum: max, default: def, description })

export const PGLITE_DEFAULT_DIR = join(import.meta.dir, '..', '.data', 'pglite')

export const StockConfigSchema = Type.Object({
  PORT: Int(0, 65_535, 3002, 'HTTP port (0 = any free port, logged at start)'),
  HOST: Type.String({ default: '0.0.0.0', minLength: 1, description: 'HTTP listen address' }),
  LOG_LEVEL: LogLevelSchema('info'),
  NODE_ENV: Type.Optional(
    Type.String({ description: 'production (set by the container image): DATABASE_URL is then required' }),
  ),
  DATABASE_URL: Type.Optional(
    Type.String({ pattern: '^postgres(ql)?://', description: 'PostgreSQL URL; unset = embedded PGlite' }),
  ),
  PGLITE_DIR: Type.String({ default: PGLITE_DEFAULT_DIR, minLength: 1, description: 'PGlite data folder' }),
  DB_POOL_MAX: Int(1, 200, 10, 'PostgreSQL connections of the HTTP pool'),
  DB_CONNECT_TIMEOUT_S: Int(1, 60, 3, 'seconds to wait for a PostgreSQL connection before answering 503'),
  KAFKA_BROKERS: Type.Optional(
    Type.String({ pattern: '^[^,\\s]+(,[^,\\s]+)*$', description: 'host:port,...' }),
  ),
  SCHEMA_REGISTRY_URL: Type.Optional(
    Type.String({ pattern: '^https?://', description: 'Confluent API URL' }),
  ),
  BODY_LIMIT_BYTES: Int(256, 1_048_576, 16_384, 'largest accepted request body'),
  RELAY_ENABLED: Type.Boolean({ default: true, description: 'run the outbox relay in this process' }),
  RELAY_BATCH_SIZE: Int(1, 1_000, 500, 'outbox rows per relay read'),
  RELAY_CONCURRENCY: Int(
    1,
    8,
    4,
    'batches the relay reads ahead while a send waits (they leave as one send)',
  ),
  RELAY_TRANSACTIONAL_ID: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description:
        'Kafka transactional id of the outbox relay: the same for every process relaying one outbox (so Kafka fences all but one), different per outbox; the relay commits on it with -0 … -7 appended, in turn; default vehicles-stock.outbox@<database host:port/name>',
    }),
  ),
  RELAY_POLL_INTERVAL_MS: Int(50, 60_000, 1_000, 'polling fallback when no NOTIFY arrives'),
  RELAY_BACKOFF_MIN_MS: Int(10, 60_000, 250, 'first wait after a failed send'),
  RELAY_BACKOFF_MAX_MS: Int(100, 600_000, 15_000, 'longest wait between failed sends'),
  KAFKA_DELIVERY_TIMEOUT_MS: Int(1_000, 300_000, 15_000, 'how long one relay send may wait for acks'),
  OUTBOX_RETENTION_MS: Int(
    0,
    30 * 86_400_000,
    86_400_000,
    'sent outbox rows are pruned after this; 0 = the relay deletes them as it marks them sent',
  ),
  IDEMPOTENCY_RETENTION_MS: Int(60_000, 30 * 86_400_000, 86_400_000, 'idempotency keys are kept this long'),
  PRUNE_INTERVAL_MS: Int(1_000, 86_400_000, 60_000, 'how often pruning runs'),
  SHUTDOWN_TIMEOUT_MS: Int(100, 120_000, 10_000, 'per shutdown step'),
})
export type StockConfig = Static<typeof StockConfigSchema>

type Env = Record<string, string | undefined>

/** Rules that span variables. */
function crossCheck(config: StockConfig): string | undefined {
  // The embedded PGlite is for a developer's machine: in a container it would keep the data inside the
  // container (lost with it), and it cannot even create its folder there (/app belongs to root).
  if (config.NODE_ENV === 'production' && config.DATABASE_URL === undefined)
    return 'DATABASE_URL: is required when NODE_ENV=production (the embedded PGlite is for development only)'
  if (config.KAFKA_BROKERS !== undefined && config.SCHEMA_REGISTRY_URL === undefined)
    return 'SCHEMA_REGISTRY_URL: is required when KAFKA_BROKERS is set (events are encoded with registered ids)'
  if (config.RELAY_BACKOFF_MIN_MS > config.RELAY_BACKOFF_MAX_MS)
    return 'RELAY_BACKOFF_MIN_MS: must not exceed RELAY_BACKOFF_MAX_MS'
  return undefined
}

export function parseStockConfig(env: Env): StockConfig {
  const config = parseConfig(StockConfigSchema, env)
  const problem = crossCheck(config)
  if (problem !== undefined) throw new Error(`invalid configuration:\n  ${problem}`)
  return config
}

/** At boot: prints what is wrong and exits 1. */
export function loadStockConfig(env: Env = process.env): StockConfig {
  const config = loadConfig(StockConfigSchema, env)
  const problem = crossCheck(config)
  if (problem !== undefined) {
    process.stderr.write(`invalid configuration:\n  ${problem}\n`)
    process.exit(1)
  }
  return config
}
