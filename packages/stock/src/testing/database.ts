/**
 * A fresh PostgreSQL database per test file on the stack's server, so runs never see each other's rows;
 * dropped afterwards (with force: a killed service may leave connections behind).
 */
import { stackEnv } from '@vehicles/testing'
import postgres from 'postgres'

export interface TestDatabase {
  name: string
  url: string
  sql: postgres.Sql
  drop(): Promise<void>
}

export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const serverUrl = stackEnv().DATABASE_URL
  const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {}, connect_timeout: 5 })
  try {
    await admin.unsafe(`create database "${name}"`)
  } finally {
    await admin.end()
  }
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  const sql = postgres(url.toString(), { max: 2, onnotice: () => {} })
  return {
    name,
    url: url.toString(),
    sql,
    async drop() {
      await sql.end({ timeout: 1 })
      const again = postgres(serverUrl, { max: 1, onnotice: () => {} })
      try {
        await again.unsafe(`drop database if exists "${name}" with (force)`)
      } finally {
        await again.end()
      }
    },
  }
}
