/**
 * `bun run --filter stock migrate`: applies the migrations to `DATABASE_URL` (or the PGlite folder when
 * it is unset) and exits; non-zero with the reason when that fails.
 */
import { createLogger } from '@vehicles/platform'
import { loadStockConfig } from './config'
import { openPglite } from './db/database'
import { migratePostgresUrl } from './db/migrate'

const config = loadStockConfig()
const logger = createLogger({ service: 'vehicles-stock', level: config.LOG_LEVEL })
try {
  if (config.DATABASE_URL !== undefined) {
    await migratePostgresUrl(config.DATABASE_URL, config.DB_CONNECT_TIMEOUT_S)
    logger.info('db.migrated', 'migrations applied to PostgreSQL')
  } else {
    const db = await openPglite(config.PGLITE_DIR)
    await db.close()
    logger.info('db.migrated', `migrations applied to PGlite in ${config.PGLITE_DIR}`)
  }
  process.exit(0)
} catch (error) {
  logger.error('db.migrate_failed', 'migration failed', { error })
  process.exit(1)
}
