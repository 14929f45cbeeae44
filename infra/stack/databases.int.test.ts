/** PostgreSQL (postgres.js) and the MongoDB-wire server (official driver) answer with real semantics. */
import { afterAll, describe, expect, test } from 'bun:test'
import { randomUUID } from 'node:crypto'
import { MongoClient, MongoServerError, postgres, stackEnv } from '../../packages/testing/src/index'

const env = stackEnv()

describe('postgresql', () => {
  const sql = postgres(env.DATABASE_URL, { max: 2, onnotice: () => {} })
  afterAll(() => sql.end())

  test('answers as the vehicles user in the vehicles database, and enforces a unique key', async () => {
    const [who] = await sql<{ user: string; db: string; version: string }[]>`
      select current_user as user, current_database() as db, current_setting('server_version') as version`
    expect(who).toMatchObject({ user: 'vehicles', db: 'vehicles' })
    expect(who?.version).toStartWith('15.')
    // A temporary table on one reserved connection: nothing is left behind for other runs.
    const connection = await sql.reserve()
    try {
      await connection`create temporary table stack_probe (id text primary key)`
      const id = randomUUID()
      await connection`insert into stack_probe ${connection({ id })}`
      const duplicate = await connection`insert into stack_probe ${connection({ id })}`.catch(
        (error: unknown) => error,
      )
      expect(duplicate).toBeInstanceOf(postgres.PostgresError)
      expect((duplicate as InstanceType<typeof postgres.PostgresError>).code).toBe('23505')
      const [count] = await connection<{ n: number }[]>`select count(*)::int as n from stack_probe`
      expect(count?.n).toBe(1)
    } finally {
      connection.release()
    }
  })
})

describe('mongodb wire (FerretDB)', () => {
  const client = new MongoClient(env.MONGODB_URL, { serverSelectionTimeoutMS: 5_000 })
  const collection = client
    .db()
    .collection<{ _id: string; vin: string; run: string }>(`stack_probe_${Date.now()}`)
  afterAll(async () => {
    await collection.drop().catch(() => {})
    await client.close()
  })

  test('insert, find, and a unique index rejects a duplicate', async () => {
    const run = randomUUID()
    await collection.createIndex({ vin: 1 }, { unique: true })
    await collection.insertMany([
      { _id: randomUUID(), vin: `VIN-A-${run}`, run },
      { _id: randomUUID(), vin: `VIN-B-${run}`, run },
    ])
    const found = await collection.find({ run }).sort({ vin: 1 }).toArray()
    expect(found.map((doc) => doc.vin)).toEqual([`VIN-A-${run}`, `VIN-B-${run}`])

    const duplicate = await collection
      .insertOne({ _id: randomUUID(), vin: `VIN-A-${run}`, run })
      .catch((e: unknown) => e)
    expect(duplicate).toBeInstanceOf(MongoServerError)
    expect((duplicate as MongoServerError).code).toBe(11000)
    expect(await collection.countDocuments({ run })).toBe(2)
  })
})
