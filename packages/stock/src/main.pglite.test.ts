/**
 * The embedded default: with no DATABASE_URL and no Kafka, `bun src/main.ts` runs on PGlite in a local
 * folder and serves POST/GET with no other process running. The outbox fills and /health/ready says so.
 */
import { afterAll, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Vehicle } from '@vehicles/contracts'
import { postVehicle, type StockProcess, startStock, vehicleBody } from './testing/stock-process'

const dir = mkdtempSync(join(tmpdir(), 'stock-pglite-'))
let stock: StockProcess | undefined

afterAll(async () => {
  await stock?.stop('SIGKILL')
  rmSync(dir, { recursive: true, force: true })
})

test('PGlite default: starts alone, serves POST and GET, keeps data across a restart, reports the idle outbox', async () => {
  // No DATABASE_URL, no KAFKA_BROKERS: startStock passes only what it is given (plus PATH and HOME).
  stock = await startStock({ PGLITE_DIR: join(dir, 'pglite') })
  const created = await postVehicle(stock.url, vehicleBody(1))
  expect(created.status).toBe(201)
  const vehicle = created.json as Vehicle

  const list = (await (await fetch(`${stock.url}/stock`)).json()) as { items: Vehicle[] }
  expect(list.items).toEqual([vehicle])
  expect(await (await fetch(`${stock.url}/stock/${vehicle.id}`)).json()).toEqual(vehicle)

  const ready = await fetch(`${stock.url}/health/ready`)
  expect(ready.status).toBe(200) // Kafka missing does not make the service unready: the outbox holds the events
  const report = (await ready.json()) as {
    status: string
    checks: { database: { ok: boolean }; outbox: { ok: boolean; detail: { relay: string; pending: number } } }
  }
  expect(report.status).toBe('degraded')
  expect(report.checks.database.ok).toBe(true)
  expect(report.checks.outbox).toMatchObject({ ok: false, detail: { relay: 'off', pending: 1 } })
  expect(stock.logs().some((l) => l.event === 'outbox.relay.off')).toBe(true)
  expect(stock.logs().some((l) => l.event === 'db.embedded')).toBe(true)

  expect(await stock.stop('SIGTERM')).toBe(0)
  expect(stock.logs().at(-1)).toMatchObject({ event: 'shutdown.done' })

  stock = await startStock({ PGLITE_DIR: join(dir, 'pglite') })
  expect(await (await fetch(`${stock.url}/stock/${vehicle.id}`)).json()).toEqual(vehicle)
  expect(await stock.stop('SIGTERM')).toBe(0)
}, 120_000)
