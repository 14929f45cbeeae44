/**
 * A database of its own for one integration test file on the shared FerretDB, so runs of other helpers
 * and earlier runs cannot leak in; dropped at the end (it belongs to the test alone).
 */

import { stackEnv } from '@vehicles/testing'
import { type Db, MongoClient } from 'mongodb'

export interface TestDb {
  client: MongoClient
  db: Db
  url: string
  dispose(): Promise<void>
}

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
