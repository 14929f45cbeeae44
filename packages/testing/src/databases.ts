/**
 * A database of its own per test file on the stack's shared servers, so runs (and other helpers using
 * the stack) never see each other's rows: PostgreSQL (dropped with force afterwards: a killed service
 * may leave connections behind) and the MongoDB-wire server (FerretDB).
 */
import { type Db, MongoClient } from 'mongodb'
import postgres from 'postgres'
import { stackEnv } from './stack-env'

export interface TestDatabase {
  name: string
  url: string
  sql: postgres.Sql
  drop(): Promise<void>
}

/** A fresh PostgreSQL database named `<prefix>_<unique>`, with a small pool on it. */
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

export interface TestDb {
  client: MongoClient
  db: Db
  url: string
  dispose(): Promise<void>
}

/** A fresh MongoDB database named `ads_<label>_<unique>`, dropped by `dispose`. */
export async function openTestDb(label: string): Promise<TestDb> {
  const url = stackEnv().MONGODB_URL
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 10_000 })
  try {
    await client.connect()
  } catch (error) {
    throw new Error(`cannot reach the MongoDB-wire server at ${url} (is the stack up?): ${String(error)}`)
  }
  const name = `ads_${label}_${crypto.randomUUID().slice(0, 8)}`
  const db = client.db(name)
  return {
    client,
    db,
    url,
    async dispose() {
      await db.dropDatabase().catch(() => undefined)
      await client.close()
    },
  }
}
