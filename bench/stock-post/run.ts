/**
 * POST /stock benchmark. Three candidates doing the same database work, one
 * after the other, each on a fresh database with vehicles-stock's migrations, the same pool size, the
 * same wrk load (unique valid VINs from post.lua), the same warm-up and duration:
 *
 *   bare   bench/stock-post/bare.ts: Bun.serve + postgres.js, no validation or framework (goal: stock ≥ 85 %)
 *   stock  packages/stock (Elysia + TypeBox + postgres.js), relay off: the same work as the others
 *   nest   bench/stock-post/nest-ref: NestJS 10 + class-validator + pg on Node 20 (goal: stock ≥ 2×)
 *
 * then `GET /stock?limit=50` on each, and the server's RSS and CPU time while loaded.
 *
 * bun bench/stock-post/run.ts [--duration 20] [--warmup 5] [--connections 32] [--threads 1] [--pool 10]
 *   [--get-duration 10] [--rounds 1] [--only bare,stock,nest]
 */
import { join } from 'node:path'
import { postgres } from '../../packages/testing/src/index'
import { intArg, stringArg } from '../lib/args'
import { freshDatabase, runTag } from '../lib/database'
import { cpuSeconds, rssMiB, sampleRss } from '../lib/machine'
import { createReport, fixed, pct, table } from '../lib/report'
import type { Candidate } from '../lib/service'
import { type WrkResult, wrk } from '../lib/wrk'
import { DEFAULT_NAMES, launchCandidate, NAMES, type Name, nextPrefix, prepareNest } from './candidates'

const DURATION = intArg('duration', 20, 1, 600)
const WARMUP = intArg('warmup', 5, 0, 120)
const CONNECTIONS = intArg('connections', 32, 1, 1024)
const THREADS = intArg('threads', 1, 1, 8)
const POOL = intArg('pool', 10, 1, 100)
const GET_DURATION = intArg('get-duration', 10, 0, 600)
const ROUNDS = intArg('rounds', 1, 1, 5)
const only = (stringArg('only') ?? DEFAULT_NAMES.join(',')).split(',')
const bad = only.filter((n) => !(NAMES as readonly string[]).includes(n))
if (bad.length > 0) {
  console.error(`--only: unknown ${bad.join(', ')}; choose from ${NAMES.join(', ')}`)
  process.exit(2)
}
const selected = NAMES.filter((n) => only.includes(n))

const say = (line: string) => console.log(`[stock-post] ${line}`)
const launch = (name: Name, databaseUrl: string) => launchCandidate(name, databaseUrl, POOL)

/**
 * Each candidate must do the work it is credited with: a valid body is stored (201), and — for the two
 * that validate — the original system's example body is refused (400), so no candidate wins by skipping.
 */
async function sanity(name: Name, url: string): Promise<void> {
  const post = (body: unknown) =>
    fetch(`${url}/stock`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  const valid = {
    vin: 'WVWZZZ1JZXW000001',
    manufacturer: 'Volkswagen',
    model: 'Golf',
    year: 2019,
    odometer: 42_000,
    odometerUnit: 'km',
  }
  const created = await post(valid)
  const text = await created.text()
  if (created.status !== 201) throw new Error(`${name}: a valid POST answered ${created.status}: ${text}`)
  if (name === 'bare') return
  const seed = {
    vin: 'vin',
    model: 'model',
    manufacturer: 'manufacturer',
    year: 2022,
    odometer: 1000,
    odometerUnit: 'odometerUnit',
  }
  const refused = await post(seed)
  const why = await refused.text()
  if (refused.status !== 400 || !why.includes('vin') || !why.includes('odometerUnit'))
    throw new Error(
      `${name}: the seed's example body answered ${refused.status} (want 400 naming vin and odometerUnit): ${why}`,
    )
}

interface Measured {
  name: Name
  round: number
  post: WrkResult
  get?: WrkResult
  rssAtStartMiB: number
  rssPeakMiB: number
  rssMeanMiB: number
  cpuMsPerRequest: number
  rows: { vehicles: number; outbox: number }
  /** From the service's own /metrics right after the load (stock only): where the resident memory is. */
  heap?: { rssMiB: number; heapTotalMiB: number; heapUsedMiB: number; externalMiB: number }
}

/** prom-client's process metrics of a running stock (JSC heap as node:v8 reports it under Bun). */
async function heapOf(url: string): Promise<Measured['heap']> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const value = (metric: string) => {
    const match = new RegExp(`^${metric}(?:\\{[^}]*\\})? ([\\d.e+]+)$`, 'm').exec(text)
    return match === null ? Number.NaN : Number(match[1]) / 2 ** 20
  }
  return {
    rssMiB: value('process_resident_memory_bytes'),
    heapTotalMiB: value('nodejs_heap_size_total_bytes'),
    heapUsedMiB: value('nodejs_heap_size_used_bytes'),
    externalMiB: value('nodejs_external_memory_bytes'),
  }
}

async function measure(name: Name, round: number, tag: string): Promise<Measured> {
  const db = await freshDatabase(`bench_post_${tag}_${name.replace('-', '_')}_${round}`)
  let candidate: Candidate | undefined
  try {
    candidate = await launch(name, db.url)
    const { url, pid } = candidate
    const rssAtStart = rssMiB(pid) ?? Number.NaN
    await sanity(name, url)
    say(`${name} (round ${round}): pid ${pid}, warm-up ${WARMUP} s`)
    const load = { threads: THREADS, connections: CONNECTIONS, script: join(import.meta.dir, 'post.lua') }
    if (WARMUP > 0)
      await wrk({ ...load, url: `${url}/stock`, durationSeconds: WARMUP, scriptArgs: [nextPrefix()] })
    const rss = sampleRss(() => ({ [name]: pid }))
    const cpuBefore = cpuSeconds(pid) ?? Number.NaN
    const post = await wrk({
      ...load,
      url: `${url}/stock`,
      durationSeconds: DURATION,
      scriptArgs: [nextPrefix()],
    })
    const cpu = (cpuSeconds(pid) ?? Number.NaN) - cpuBefore
    const memory = rss.stop()[name]
    say(
      `${name}: POST ${fixed(post.rps)} req/s, p50 ${fixed(post.p50Ms, 2)} ms, p99 ${fixed(post.p99Ms, 2)} ms`,
    )
    const heap = name.startsWith('stock') ? await heapOf(url) : undefined
    const client = postgres(db.url, { max: 1, onnotice: () => {} })
    const [counts] = await client<{ vehicles: number; outbox: number }[]>`
      select (select count(*)::int from vehicles) as vehicles, (select count(*)::int from outbox) as outbox`
    await client.end()
    let get: WrkResult | undefined
    if (GET_DURATION > 0) {
      get = await wrk({
        url: `${url}/stock?limit=50`,
        durationSeconds: GET_DURATION,
        threads: THREADS,
        connections: 8,
      })
      say(
        `${name}: GET ${fixed(get.rps)} req/s, p50 ${fixed(get.p50Ms, 2)} ms, p99 ${fixed(get.p99Ms, 2)} ms`,
      )
    }
    return {
      name,
      round,
      post,
      ...(get !== undefined ? { get } : {}),
      ...(heap !== undefined ? { heap } : {}),
      rssAtStartMiB: rssAtStart,
      rssPeakMiB: memory?.peakMiB ?? Number.NaN,
      rssMeanMiB: memory?.meanMiB ?? Number.NaN,
      cpuMsPerRequest: (cpu * 1000) / post.requests,
      rows: counts ?? { vehicles: -1, outbox: -1 },
    }
  } finally {
    if (candidate !== undefined) say(`${name}: ${await candidate.stop()}`)
    await db.drop()
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? Number.NaN)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

const command = `bun run bench:stock-post${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`
const report = createReport('stock-post', command)
const tag = runTag()
let nodeVersion = 'not run'
if (selected.includes('nest')) nodeVersion = await prepareNest(say)

report.mark('start')
const results: Measured[] = []
for (let round = 1; round <= ROUNDS; round++) {
  for (const name of selected) {
    results.push(await measure(name, round, tag))
    report.mark(`after ${name} round ${round}`)
  }
}

const problems: string[] = []
for (const r of results) {
  const answered = r.post.requests - r.post.non2xx
  if (r.post.non2xx > 0 || r.post.socketErrors > 0)
    problems.push(
      `${r.name} round ${r.round}: ${r.post.non2xx} non-2xx, ${r.post.socketErrors} socket errors`,
    )
  if (r.rows.vehicles !== r.rows.outbox)
    problems.push(`${r.name} round ${r.round}: ${r.rows.vehicles} vehicles but ${r.rows.outbox} outbox rows`)
  if (r.rows.vehicles < answered)
    problems.push(
      `${r.name} round ${r.round}: ${answered} POSTs answered 2xx but only ${r.rows.vehicles} rows`,
    )
}

report.section(
  `POST /stock, ${DURATION} s after ${WARMUP} s warm-up, wrk ${THREADS} thread(s) × ${CONNECTIONS} connections, pool ${POOL}`,
  table(
    [
      'candidate',
      'round',
      'req/s',
      'p50 ms',
      'p75 ms',
      'p99 ms',
      'non-2xx',
      'server CPU ms/req',
      'RSS at start → peak MiB',
      'rows (vehicles = outbox)',
    ],
    results.map((r) => [
      r.name,
      r.round,
      fixed(r.post.rps),
      fixed(r.post.p50Ms, 2),
      fixed(r.post.p75Ms, 2),
      fixed(r.post.p99Ms, 2),
      r.post.non2xx + r.post.socketErrors,
      fixed(r.cpuMsPerRequest, 3),
      `${fixed(r.rssAtStartMiB, 1)} → ${fixed(r.rssPeakMiB, 1)}`,
      `${r.rows.vehicles} = ${r.rows.outbox}`,
    ]),
  ),
)
if (GET_DURATION > 0) {
  report.section(
    `GET /stock?limit=50, ${GET_DURATION} s, wrk ${THREADS} thread(s) × 8 connections (after the POST run: tables of rows just written)`,
    table(
      ['candidate', 'round', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx'],
      results.map((r) => [
        r.name,
        r.round,
        fixed(r.get?.rps ?? Number.NaN),
        fixed(r.get?.p50Ms ?? Number.NaN, 2),
        fixed(r.get?.p99Ms ?? Number.NaN, 2),
        r.get?.non2xx ?? 'n/a',
      ]),
    ),
  )
}

const heaps = results.filter((r) => r.heap !== undefined)
if (heaps.length > 0) {
  report.section(
    "Where the stock's memory is, right after the POST load (its own /metrics: prom-client process metrics)",
    table(
      [
        'candidate',
        'round',
        'RSS MiB',
        'JS heap total MiB',
        'JS heap used MiB',
        'external MiB',
        'RSS outside the JS heap MiB',
      ],
      heaps.map((r) => {
        const h = r.heap ?? {
          rssMiB: Number.NaN,
          heapTotalMiB: Number.NaN,
          heapUsedMiB: Number.NaN,
          externalMiB: Number.NaN,
        }
        return [
          r.name,
          r.round,
          fixed(h.rssMiB, 1),
          fixed(h.heapTotalMiB, 1),
          fixed(h.heapUsedMiB, 1),
          fixed(h.externalMiB, 1),
          fixed(h.rssMiB - h.heapTotalMiB, 1),
        ]
      }),
    ),
  )
}

const of = (name: Name, pick: (r: Measured) => number) =>
  median(results.filter((r) => r.name === name).map(pick))
const ratios: (string | number)[][] = []
const rps = (r: Measured) => r.post.rps
if (selected.includes('stock') && selected.includes('bare')) {
  const ratio = of('stock', rps) / of('bare', rps)
  ratios.push(['POST throughput stock / bare', pct(ratio), '≥ 85 %', ratio >= 0.85 ? 'met' : 'missed'])
  ratios.push([
    'POST p99 stock / bare',
    `${fixed(of('stock', (r) => r.post.p99Ms) / of('bare', (r) => r.post.p99Ms), 2)}×`,
    '',
    '',
  ])
  if (GET_DURATION > 0) {
    const get = (r: Measured) => r.get?.rps ?? Number.NaN
    ratios.push(['GET page throughput stock / bare', pct(of('stock', get) / of('bare', get)), '', ''])
  }
}
if (selected.includes('stock') && selected.includes('nest')) {
  const ratio = of('stock', rps) / of('nest', rps)
  ratios.push(['POST throughput stock / nest', `${fixed(ratio, 2)}×`, '≥ 2×', ratio >= 2 ? 'met' : 'missed'])
  ratios.push([
    'POST p99 nest / stock',
    `${fixed(of('nest', (r) => r.post.p99Ms) / of('stock', (r) => r.post.p99Ms), 2)}×`,
    '',
    '',
  ])
}
if (selected.includes('stock-smol') && selected.includes('stock')) {
  ratios.push(['POST throughput stock --smol / stock', pct(of('stock-smol', rps) / of('stock', rps)), '', ''])
  ratios.push([
    'stock --smol RSS peak under POST load',
    `${fixed(
      of('stock-smol', (r) => r.rssPeakMiB),
      1,
    )} MiB`,
    '',
    '',
  ])
}
if (selected.includes('stock-purge') && selected.includes('stock')) {
  ratios.push([
    'POST throughput stock (MIMALLOC_PURGE_DELAY=0) / stock',
    pct(of('stock-purge', rps) / of('stock', rps)),
    '',
    '',
  ])
  ratios.push([
    'stock (MIMALLOC_PURGE_DELAY=0) RSS peak under POST load',
    `${fixed(
      of('stock-purge', (r) => r.rssPeakMiB),
      1,
    )} MiB`,
    '',
    '',
  ])
}
if (selected.includes('stock')) {
  const peak = of('stock', (r) => r.rssPeakMiB)
  ratios.push([
    'stock RSS peak under POST load',
    `${fixed(peak, 1)} MiB`,
    '< 80 MB',
    peak * 1.048576 < 80 ? 'met' : 'missed',
  ])
}
report.section(`Figures (medians over ${ROUNDS} round(s))`, table(['figure', 'value', 'goal', ''], ratios))
report.note(
  `Node ${nodeVersion} for the NestJS reference; Bun ${Bun.version} for bare and stock; PostgreSQL of the local stack.`,
)
report.note('Same statement for all: vehicle + outbox row + NOTIFY in one prepared statement, UUID v7 ids.')
report.note(
  'stock runs with its relay off (no KAFKA_BROKERS) and its default logging (one JSON line per request) and metrics.',
)
for (const p of problems) report.note(`PROBLEM: ${p}`)
report.print()
process.exit(problems.length > 0 ? 1 : 0)
