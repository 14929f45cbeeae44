/**
 * Fresh PostgreSQL databases on the local stack, one per candidate, with vehicles-stock's committed
 * migrations applied (the same tables, indexes and constraints for everyone), dropped afterwards.
 */
import { migratePostgresUrl } from '../../packages/stock/src/db/migrate'
import { postgres, stackEnv } from '../../packages/testing/src/index'

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

export interface FreshDatabase {
  name: string
  url: string
  drop(): Promise<void>
}

export async function freshDatabase(
  name: string,
  options: { migrate?: boolean } = {},
): Promise<FreshDatabase> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`database name ${name}: use a-z, 0-9 and _`)
  const adminUrl = stackEnv().DATABASE_URL
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} })
  try {
    await admin.unsafe(`create database "${name}"`)
  } finally {
    await admin.end()
  }
  const url = withDatabase(adminUrl, name)
  if (options.migrate ?? true) await migratePostgresUrl(url)
  return {
    name,
    url,
    async drop() {
      const again = postgres(adminUrl, { max: 1, onnotice: () => {} })
      try {
        await again.unsafe(`drop database if exists "${name}" with (force)`)
      } finally {
        await again.end()
      }
    },
  }
}

/** A short id for this run's databases, topics and VIN prefixes. */
export const runTag = () => `${Date.now().toString(36).slice(-5)}${crypto.randomUUID().slice(0, 3)}`
