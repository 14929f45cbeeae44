/**
 * Replays change nothing: created records copied back into `stock.vehicle-created` with kcat (the same
 * key, value bytes and headers, several times, on the same partition) are each answered with the same
 * processed event, byte for byte, and the ads keep one ad per vehicle with the price and event id they had.
 *
 * Estimator delay 0. Needs `bun run stack up` (fails with that hint otherwise).
 */

import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TOPICS } from '../../packages/contracts/src/topics'
import { kcat, waitFor } from '../../packages/testing/src/index'
import { type AdSummary, describe as describeBooks, Ledger, totals } from '../support/ledger'
import { postStream } from '../support/load'
import { type System, startSystem } from '../support/system'
import { type RawRecord, readRawSince } from '../support/topic-records'

const VEHICLES = 40
const REPLAYED = 5
const COPIES = 3
let system: System
let ledger: Ledger
let scratch: string

beforeAll(async () => {
  system = await startSystem({
    purpose: 'tests/e2e replay',
    estimateDelaySeconds: 0,
    estimatorSessionTimeoutMs: 10_000,
    say: (line) => console.log(`[system] ${line}`),
  })
  ledger = await Ledger.open(system)
  scratch = mkdtempSync(join(tmpdir(), 'replay-'))
}, 720_000)

afterAll(async () => {
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true })
  await system?.stop()
}, 120_000)

/** kcat prints headers as `name=value,name=value`; the system's header values hold no comma. */
const headerArgs = (headers: string) =>
  headers
    .split(',')
    .filter((pair) => pair.includes('='))
    .flatMap((pair) => ['-H', pair])

/** Appends `copies` records with exactly the bytes of `record` to its own partition, acks=all. */
async function replay(record: RawRecord, copies: number) {
  if (record.value === null) throw new Error(`created record ${record.key} has no value`)
  const file = join(scratch, `${record.key}.bin`)
  writeFileSync(file, record.value)
  const brokers = system.stack.KAFKA_BROKERS
  const args = ['-P', '-b', brokers, '-t', TOPICS.vehicleCreated, '-p', String(record.partition)]
  args.push('-k', record.key, ...headerArgs(record.headers), '-X', 'acks=all')
  // kcat sends each file argument as one message, bytes untouched.
  const result = await kcat([...args, ...Array.from({ length: copies }, () => file)], undefined, 30_000)
  if (result.code !== 0) throw new Error(`kcat -P failed: ${result.stderr.trim()}`)
}

test(`a created record replayed ${COPIES} times with kcat: the same answer, one ad, the same price and event id`, async () => {
  const load = await postStream({ stockUrl: system.stockUrl, count: VEHICLES, concurrency: 8 }).done
  expect({ created: load.created, serverErrors: load.serverErrors }).toEqual({
    created: VEHICLES,
    serverErrors: 0,
  })
  const acknowledged = new Set(load.ids)
  const before = await ledger.settle(acknowledged, 90_000)
  expect(before.completeAt, describeBooks(before.result)).toBeDefined()

  const chosen = load.ids.slice(0, REPLAYED)
  const brokers = system.stack.KAFKA_BROKERS
  const createdMarks = ledger.marks.get(TOPICS.vehicleCreated)
  if (createdMarks === undefined) throw new Error('no marks for the created topic')
  const originals = (await readRawSince(brokers, TOPICS.vehicleCreated, createdMarks)).filter((r) =>
    chosen.includes(r.key),
  )
  expect(originals.map((r) => r.key).sort()).toEqual([...chosen].sort())
  const adsBefore = new Map((await ledger.ads()).map((ad) => [ad.id, ad]))
  for (const record of originals) await replay(record, COPIES)

  // Each replayed copy is answered: wait until every chosen vehicle has 1 + COPIES processed records.
  const answers = await waitFor(
    `${1 + COPIES} processed records for each of ${REPLAYED} replayed vehicles`,
    async () => {
      const snapshot = await ledger.snapshot()
      const mine = snapshot.processed.filter((r) => chosen.includes(r.key))
      return chosen.every((id) => mine.filter((r) => r.key === id).length >= 1 + COPIES) ? mine : undefined
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  )
  const after = await ledger.settle(acknowledged, 30_000)
  const books = describeBooks(after.result)
  console.log(`replay: ${REPLAYED} created records replayed ${COPIES} times each; ${books}`)
  for (const id of chosen) {
    const ad = adsBefore.get(id)
    const records = answers.filter((r) => r.key === id)
    expect(
      {
        records: records.length,
        eventIds: [...new Set(records.map((r) => r.eventId))],
        prices: [...new Set(records.map((r) => r.price))],
      },
      `vehicle ${id}: ${books}`,
    ).toEqual({ records: 1 + COPIES, eventIds: [ad?.eventId ?? 'no ad before'], prices: [ad?.price] })
  }
  const byId = (a: AdSummary, b: AdSummary) => a.id.localeCompare(b.id)
  const adsAfter = (await ledger.ads()).filter((ad) => chosen.includes(ad.id))
  expect(adsAfter.sort(byId)).toEqual(
    [...adsBefore.values()].filter((ad) => chosen.includes(ad.id)).sort(byId),
  )
  // The books: nothing lost or duplicated, no vehicle with a second price anywhere; the replays are
  // seen as the same event delivered again.
  expect(totals(after.result), books).toEqual({ lost: 0, duplicated: 0 })
  expect(after.result.repriced, books).toEqual([])
  expect(after.result.redelivered.sort(), books).toEqual([...chosen].sort())
}, 300_000)
