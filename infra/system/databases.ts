/**
 * The system's two databases: the stock's in the stack's PostgreSQL, the ads' in its MongoDB-wire
 * server (FerretDB creates a database on first write, so only PostgreSQL needs a `create database`).
 */
import { MongoClient, postgres, type StackEnv } from '../../packages/testing/src/index'

/** Creates the stock's database unless it exists; true when it was created now. */
export async function createStockDatabase(stack: StackEnv, name: string): Promise<boolean> {
  const admin = postgres(stack.DATABASE_URL, { max: 1, onnotice: () => {} })
  try {
    const found = await admin`select 1 from pg_database where datname = ${name}`
    if (found.length > 0) return false
    await admin.unsafe(`create database "${name}"`)
    return true
  } finally {
    await admin.end()
  }
}

export async function dropDatabases(stack: StackEnv, names: { stock: string; ads: string }): Promise<void> {
  const admin = postgres(stack.DATABASE_URL, { max: 1, onnotice: () => {} })
  try {
    await admin.unsafe(`drop database if exists "${names.stock}" with (force)`)
  } finally {
    await admin.end()
  }
  const mongo = new MongoClient(stack.MONGODB_URL, { serverSelectionTimeoutMS: 5_000 })
  try {
    await mongo.db(names.ads).dropDatabase()
  } finally {
    await mongo.close()
  }
}
