/** Migrations for the embedded PGlite database (its own module: PGlite is loaded only when used). */
import type { PGlite } from '@electric-sql/pglite'
import { drizzle } from 'drizzle-orm/pglite'
import { migrate } from 'drizzle-orm/pglite/migrator'
import { MIGRATIONS_FOLDER } from './migrate'

export async function migratePgliteClient(client: PGlite): Promise<void> {
  await migrate(drizzle(client), { migrationsFolder: MIGRATIONS_FOLDER })
}
