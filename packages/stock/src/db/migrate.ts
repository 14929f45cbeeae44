/**
 * Applies the committed drizzle-kit migrations (`drizzle/`). On PostgreSQL several instances may start
 * at once, so the migration runs on its own single connection under an advisory lock: the first one
 * migrates, the others wait and then find nothing to do.
 */
import { join } from 'node:path'
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js'
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator'
import postgres from 'postgres'

export const MIGRATIONS_FOLDER = join(import.meta.dir, '..', '..', 'drizzle')

/** An arbitrary constant naming "vehicles-stock schema migration" among advisory locks. */
const MIGRATION_LOCK = 7_310_421_101

export async function migratePostgresUrl(url: string, connectTimeoutSeconds = 10): Promise<void> {
  const client = postgres(url, {
    max: 1,
    connect_timeout: connectTimeoutSeconds,
    onnotice: () => {},
    connection: { application_name: 'vehicles-stock-migrate' },
  })
  try {
    await client`select pg_advisory_lock(${MIGRATION_LOCK})`
    try {
      await migratePostgres(drizzlePostgres(client), { migrationsFolder: MIGRATIONS_FOLDER })
    } finally {
      await client`select pg_advisory_unlock(${MIGRATION_LOCK})`
    }
  } finally {
    await client.end({ timeout: 5 })
  }
}
