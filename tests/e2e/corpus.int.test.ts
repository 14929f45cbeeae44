/**
 * The conformance corpus end to end: one `POST /stock` per corpus value of the create-vehicle body.
 * Every value the corpus calls valid must be stored (201) and become an ad, priced by the Python estimator
 * from the TypeScript-encoded event, with nothing dead-lettered on the way: a value accepted at the edge
 * and refused by the next service is exactly what one meaning for every contract rules out. Every value
 * the corpus calls invalid must be a 400 naming its field, and stored nowhere.
 *
 * The one rule the schema cannot carry: a model year after next year is valid for the schema (it has a
 * fixed bound) and refused by the service (400, rule maximum), so those cases expect that answer.
 *
 * Estimator delay 0. Needs `bun run stack up` (fails with that hint otherwise).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { type ConformanceCase, loadCorpus, withField } from '../../packages/contracts/src/conformance'
import { maxModelYear, trimName } from '../../packages/contracts/src/index'
import { describe as describeBooks, Ledger } from '../support/ledger'
import { randomVin } from '../support/load'
import { type System, startSystem } from '../support/system'

let system: System
let ledger: Ledger

beforeAll(async () => {
  system = await startSystem({
    purpose: 'tests/e2e corpus',
    estimateDelaySeconds: 0,
    say: (line) => console.log(`[system] ${line}`),
  })
  ledger = await Ledger.open(system)
}, 720_000) // up to 10 min waiting for another system run (lock.ts), then the start

afterAll(async () => {
  await system?.stop()
}, 120_000)

const corpus = loadCorpus()
const cases = corpus.cases.filter((c) => c.schema === 'http/create-vehicle-body')
const show = (c: ConformanceCase) => `${c.field} = ${JSON.stringify(c.value)} (${c.why})`

interface Answer {
  status: number
  body: { id?: string; error?: { details?: { field: string; rule: string }[] } }
}

async function post(body: unknown): Promise<Answer> {
  const response = await fetch(`${system.stockUrl}/stock`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: response.status, body: (await response.json()) as Answer['body'] }
}

/** The body of one case: the corpus document, a fresh VIN (unless the case is about the VIN), the value. */
function bodyOf(c: ConformanceCase): Record<string, unknown> {
  const document = { ...(corpus.documents[c.schema] as Record<string, unknown>), vin: randomVin() }
  return withField(document, c.field, c.value) as Record<string, unknown>
}

test('every create-vehicle value the corpus accepts becomes an ad; every one it refuses is a 400 naming the field', async () => {
  const maxYear = maxModelYear()
  const accepted = new Map<string, { c: ConformanceCase; body: Record<string, unknown> }>()
  const wrong: string[] = []
  for (const c of cases) {
    const body = bodyOf(c)
    const answer = await post(body)
    const fields = (answer.body.error?.details ?? []).map((d) => `${d.field}:${d.rule}`)
    const refusedByYear = c.field === 'year' && typeof c.value === 'number' && c.value > maxYear
    if (c.valid && !refusedByYear) {
      if (answer.status === 201 && answer.body.id !== undefined) accepted.set(answer.body.id, { c, body })
      else wrong.push(`${show(c)}: expected 201, got ${answer.status} ${fields.join(', ')}`)
    } else if (c.valid) {
      if (answer.status !== 400 || !fields.includes('year:maximum'))
        wrong.push(`${show(c)}: expected 400 year:maximum (after next year), got ${answer.status}`)
    } else if (answer.status !== 400 || !fields.some((f) => f.startsWith(`${c.field}:`))) {
      wrong.push(`${show(c)}: expected 400 naming ${c.field}, got ${answer.status} ${fields.join(', ')}`)
    }
  }
  console.log(
    `corpus e2e: ${cases.length} create-vehicle cases posted, ${accepted.size} accepted, ${wrong.length} wrong`,
  )
  expect(wrong).toEqual([])

  const ids = new Set(accepted.keys())
  const { result, snapshot, completeAt } = await ledger.settle(ids, 120_000)
  const books = describeBooks(result)
  console.log(`corpus e2e: ${books}`)
  expect(completeAt, books).toBeDefined()
  // Refused values are stored nowhere: PostgreSQL holds exactly the accepted ones.
  expect(result.vehicles, books).toBe(ids.size)
  expect(result.unstored, books).toEqual([])
  expect(result.lost, books).toEqual({ created: [], processed: [], ads: [] })
  expect(result.unpriced, books).toEqual([])
  // Nothing accepted at the edge was dead-lettered downstream.
  const deadLettered = snapshot.dlq.filter((record) => ids.has(record.key)).map((r) => accepted.get(r.key))
  expect(deadLettered.map((a) => (a === undefined ? '?' : show(a.c)))).toEqual([])

  // Each ad carries the value as the service stored it: names trimmed of blanks, the VIN upper-cased.
  const mismatched: string[] = []
  for (const [id, { c, body }] of accepted) {
    const response = await fetch(`${system.adsUrl}/ads/${id}`)
    const ad = (await response.json()) as Record<string, unknown>
    const expected = {
      vin: String(body.vin).toUpperCase(),
      manufacturer: trimName(String(body.manufacturer)),
      model: trimName(String(body.model)),
      year: body.year,
      odometer: body.odometer,
      odometerUnit: body.odometerUnit,
    }
    const got = Object.fromEntries(Object.keys(expected).map((key) => [key, ad[key]]))
    if (response.status !== 200 || JSON.stringify(got) !== JSON.stringify(expected))
      mismatched.push(`${show(c)}: ${response.status} ${JSON.stringify(got)}`)
  }
  expect(mismatched).toEqual([])
  expect(system.crashed()).toEqual([])
}, 600_000)
