/**
 * The whole system end to end on the local stack: vehicles-stock (TypeScript) → outbox → Kafka →
 * two price-estimate instances (Python, Kafka transactions) → Kafka → vehicles-ads (TypeScript) → MongoDB.
 * Events are encoded by the TypeScript contracts and decoded by the Python estimator, and the other way
 * round, so these tests also show that the two languages agree on the wire format.
 *
 * Estimator delay 0. Needs `bun run stack up` (fails with that hint otherwise).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { Ad } from '../../packages/contracts/src/schemas/ad'
import { waitFor } from '../../packages/testing/src/index'
import { describe as describeBooks, Ledger, totals } from '../support/ledger'
import { postStream, randomVehicle } from '../support/load'
import { type System, startSystem } from '../support/system'

const N = 200
let system: System
let ledger: Ledger
const acknowledged = new Set<string>()

beforeAll(async () => {
  system = await startSystem({
    purpose: 'tests/e2e',
    estimateDelaySeconds: 0,
    estimatorSessionTimeoutMs: 10_000,
    say: (line) => console.log(`[system] ${line}`),
  })
  ledger = await Ledger.open(system)
}, 720_000) // up to 10 min waiting for another system run (lock.ts), then the start

afterAll(async () => {
  await system?.stop()
}, 120_000)

// The body of GET /ads/:id is the contract's Ad, so the test reads it as that type.
async function getAd(id: string): Promise<Ad | undefined> {
  const response = await fetch(`${system.adsUrl}/ads/${id}`)
  if (response.status === 404) return undefined
  if (response.status !== 200) throw new Error(`GET /ads/${id}: ${response.status} ${await response.text()}`)
  return (await response.json()) as Ad
}

test('one POST /stock → its ad, priced by the Python estimator from the TypeScript-encoded event, is served by GET /ads/:id', async () => {
  const vehicle = randomVehicle()
  const started = performance.now()
  const response = await fetch(`${system.stockUrl}/stock`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(vehicle),
  })
  const text = await response.text()
  expect(response.status, text).toBe(201)
  const { id } = JSON.parse(text) as { id: string }
  acknowledged.add(id)

  const ad = await waitFor(`the ad of vehicle ${id}`, () => getAd(id), { timeoutMs: 30_000, intervalMs: 50 })
  console.log(`POST → ad visible in ${(performance.now() - started).toFixed(0)} ms`)
  // Every field of the posted body (vin, manufacturer, model, year, odometer, odometerUnit) comes back as posted.
  expect(ad).toMatchObject({ vehicleId: id, ...vehicle })
  expect(Number.isInteger(ad.price.amount) && ad.price.amount > 0, JSON.stringify(ad.price)).toBe(true)
  expect(ad.price.currency).toBe('EUR')
}, 60_000)

test(`${N} POSTs → exactly ${N} ads, each priced, each once, in PostgreSQL, on both topics and in MongoDB (TypeScript contracts ↔ Python estimator interop)`, async () => {
  const load = await postStream({ stockUrl: system.stockUrl, count: N, concurrency: 16 }).done
  expect({ created: load.created, serverErrors: load.serverErrors, samples: load.samples }).toEqual({
    created: N,
    serverErrors: 0,
    samples: [],
  })
  for (const id of load.ids) acknowledged.add(id)

  const { result, completeAt } = await ledger.settle(acknowledged, 90_000)
  const books = describeBooks(result)
  console.log(`e2e: posted ${N} in ${load.seconds.toFixed(1)} s; ${books}`)
  expect(completeAt, books).toBeDefined()
  expect(result.vehicles, books).toBe(acknowledged.size)
  expect(totals(result), books).toEqual({ lost: 0, duplicated: 0 })
  expect(result.unpriced, books).toEqual([])
  expect(result.repriced, books).toEqual([])
  expect(result.halfWritten, books).toEqual([])
  expect(result.dlq, books).toBe(0)

  // The read side answers each one through the HTTP API too, with a price.
  const missing: string[] = []
  const ids = [...acknowledged]
  for (let i = 0; i < ids.length; i += 20) {
    const batch = ids.slice(i, i + 20)
    const ads = await Promise.all(batch.map((id) => getAd(id)))
    ads.forEach((ad, j) => {
      if (ad === undefined || !(ad.price.amount > 0)) missing.push(batch[j] ?? '?')
    })
  }
  expect(missing).toEqual([])
  expect(system.crashed()).toEqual([])
}, 180_000)
