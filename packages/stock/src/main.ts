/**
 * vehicles-stock: HTTP API + outbox relay in one process. Start order: config → database (migrated) →
 * HTTP app → relay; shutdown runs the other way round (see @vehicles/platform's createShutdown).
 */

import { librdkafkaVersion } from '@vehicles/kafka'
import { createLogger, createMetrics, createReadiness, createShutdown } from '@vehicles/platform'
import { createStockApp, SERVICE } from './app'
import { loadStockConfig } from './config'
import { type Database, openPglite, openPostgres } from './db/database'
import { migratePostgresUrl } from './db/migrate'
import { startOutbox } from './outbox/runtime'

const config = loadStockConfig()
const logger = createLogger({ service: SERVICE, level: config.LOG_LEVEL })

// Works around porsager/postgres#1154 / #1208 (open in 3.4.9): when the server drops a connection, a
// write queued with setImmediate can run on the closed socket and throw outside any query. The close
// path has already failed that connection's queries with CONNECTION_CLOSED, so the process lives on;
// any other uncaught error still ends it.
process.on('uncaughtException', (error) => {
  const fromPostgresWrite =
    error instanceof TypeError && /socket\.write/.test(error.message) && /postgres/.test(error.stack ?? '')
  if (fromPostgresWrite) {
    logger.warn('db.write_after_close', 'postgres.js wrote to a closed socket; the connection is replaced')
    return
  }
  logger.error('process.uncaught', error.message)
  process.exit(1)
})
const readiness = createReadiness()
const metrics = createMetrics({ service: SERVICE })
// Signal handlers go in before anything else: a SIGTERM during start-up must still shut down cleanly,
// and in Bun 1.4.5 a handler added after PGlite's WebAssembly module loaded is never called.
const shutdown = createShutdown({ logger, readiness, drainTimeoutMs: config.SHUTDOWN_TIMEOUT_MS })
shutdown.install()

async function openDatabase(): Promise<Database> {
  if (config.DATABASE_URL === undefined) {
    logger.warn('db.embedded', `DATABASE_URL is not set: using embedded PGlite in ${config.PGLITE_DIR}`)
    return openPglite(config.PGLITE_DIR)
  }
  await migratePostgresUrl(config.DATABASE_URL, config.DB_CONNECT_TIMEOUT_S)
  logger.info('db.migrated', 'migrations applied')
  return openPostgres({
    url: config.DATABASE_URL,
    max: config.DB_POOL_MAX,
    connectTimeoutSeconds: config.DB_CONNECT_TIMEOUT_S,
    applicationName: SERVICE,
  })
}

let db: Database
try {
  db = await openDatabase()
} catch (error) {
  logger.error('startup.failed', 'cannot open the database', { error })
  process.exit(1)
}

readiness.register({ name: 'database', check: () => db.ping().then(() => undefined), timeoutMs: 1_000 })

const app = createStockApp({
  db,
  logger,
  readiness,
  metrics,
  bodyLimitBytes: config.BODY_LIMIT_BYTES,
}).listen({
  port: config.PORT,
  hostname: config.HOST,
  // Bun shares a port between processes by default; a second instance on one port must fail instead.
  reusePort: false,
  // Bun's own hard cap; bodies between our limit and this get the JSON 413 from the app.
  maxRequestBodySize: Math.max(config.BODY_LIMIT_BYTES * 4, 1_048_576),
})
if (app.server !== null) shutdown.setServer(app.server)

const outbox = await startOutbox({
  config,
  db,
  logger,
  registry: metrics.registry,
  readiness,
  clientId: `${SERVICE}-${process.pid}`,
})
// After the HTTP server drained (no new rows): flush the relay, then close the pool.
shutdown.onClose('outbox relay', () => outbox.stop())
shutdown.onClose('database', () => db.close())
const port = app.server?.port ?? config.PORT
logger.info('startup.listening', `listening on ${config.HOST}:${port}`, {
  port,
  database: db.kind,
  librdkafka: librdkafkaVersion(),
})
