import { afterAll, beforeAll, expect, test } from 'bun:test'
import { openTestDb, startTcpProxy, type TcpProxy, type TestDb } from '@vehicles/testing'
import { AdsRepository } from './ads/repository'
import { connectMongo, type MongoHandle } from './db'
import { processedEvent } from './testing/events'

/**
 * A MongoDB-wire server that stops answering without closing its connections (here a proxy that passes
 * no byte): the service's requests fail after the socket timeout (the projection retries whatever its
 * write throws, on a new connection) instead of waiting forever with the partition stuck behind them.
 */
let testDb: TestDb
let proxy: TcpProxy
let mongo: MongoHandle

beforeAll(async () => {
  testDb = await openTestDb('stalled')
  const server = new URL(testDb.url)
  proxy = startTcpProxy(server.hostname, Number(server.port))
  const viaProxy = new URL(testDb.url)
  viaProxy.port = String(proxy.port)
  mongo = await connectMongo({
    url: viaProxy.toString(),
    database: testDb.db.databaseName,
    socketTimeoutMs: 1_500,
  })
})

afterAll(async () => {
  proxy.restore()
  await mongo?.close()
  proxy?.close()
  await testDb?.dispose()
})

test('a write to a server that stopped answering fails within the socket timeout, and the next one succeeds once it answers', async () => {
  const repository = new AdsRepository(mongo.db)
  await repository.ping()
  proxy.stall()
  const started = Date.now()
  const error = await repository.upsertMany([processedEvent()]).catch((e: unknown) => e)
  const waited = Date.now() - started
  expect(String(error)).toContain('timed out')
  expect(waited).toBeLessThan(10_000)
  proxy.restore()
  const event = processedEvent()
  expect(await repository.upsertMany([event])).toEqual(['applied'])
  expect(await testDb.db.collection('ads').countDocuments({ _id: event.vehicle.id } as never)).toBe(1)
}, 60_000)
