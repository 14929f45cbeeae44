/**
 * Clean state for one image smoke run on the shared local stack: its own PostgreSQL database, its own
 * MongoDB database, and consumer groups of its own whose committed offsets start at the current end of
 * their topics, so the containers handle only this run's vehicle, not the topics' whole history.
 */
import { join, resolve } from 'node:path'
import type { StackEnv } from '../../packages/testing/src/stack-env'
import { resetToEnd } from '../system/groups'
import { must } from './docker'

const root = resolve(import.meta.dir, '../..')

interface MongoModule {
  MongoClient: new (
    url: string,
    options: Record<string, unknown>,
  ) => {
    connect(): Promise<unknown>
    db(name: string): { dropDatabase(): Promise<unknown> }
    close(): Promise<void>
  }
}

export async function prepareStores(options: { stack: StackEnv; database: string; group: string }) {
  const { stack, database, group } = options
  // PostgreSQL: dropped (with its sessions) and created again.
  for (const statement of [
    `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`,
    `CREATE DATABASE ${database}`,
  ]) {
    await must(['psql', stack.DATABASE_URL, '-v', 'ON_ERROR_STOP=1', '-qc', statement])
  }
  // MongoDB (FerretDB in the stack), through the ads package's own driver.
  const driver = (await import(Bun.resolveSync('mongodb', join(root, 'packages/ads/src')))) as MongoModule
  const client = new driver.MongoClient(stack.MONGODB_URL, { serverSelectionTimeoutMS: 10_000 })
  await client.connect()
  await client.db(database).dropDatabase()
  await client.close()
  // Consumer groups: committed at the end of their input topics before any member joins.
  await resetToEnd(stack, group, 'stock.vehicle-created')
  await resetToEnd(stack, `${group}-ads`, 'stock.vehicle-processed')
}
