/**
 * Whole-pipeline benchmark (issue 8 part 4), on the whole system as local processes (infra/system/system:
 * stock, ads, two estimators; fresh stock and ads databases per run):
 *
 * 1. latency — estimator delay 0: vehicles POSTed at a steady rate (open loop: each at its planned time,
 *    whatever the previous one does); for each, the time from sending its POST to its ad being in the ads
 *    collection: the ad's `projectedAt` (the ads service's clock when it wrote it), read once the run's ads
 *    all exist (counted every --poll-ms; nothing is looked up per vehicle while the run goes). Goal p99 < 100 ms.
 * 2. burst — estimator delay 30 s (the original's), two estimators: N vehicles POSTed at once (as fast as
 *    --concurrency connections go); time from the first POST until all N ads exist, with the RSS of each
 *    service sampled throughout. Goals ≤ 45 s (the original design: N × 30 s / 2) and < 80 MB per Bun service.
 *
 * bun bench/pipeline/run.ts [--latency-count 10000] [--rate 50] [--poll-ms 10] [--burst-count 10000]
 *   [--delay 30] [--concurrency 64] [--warmup 20] [--only latency,burst] [--profile]
 *
 * Each phase starts with a warm-up: --warmup vehicles POSTed and their ads awaited, so the figures are of a
 * running system (consumer groups joined, connections open), not of its start. The topics and consumer
 * groups are the system's own, shared with every other run on the stack: the warm-up also drains whatever
 * backlog earlier runs left ahead of ours (its duration is printed), so it never counts in the figures.
 */

import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { type System, startSystem } from '../../infra/system/system'
import { COLLECTION } from '../../packages/ads/src/ads/repository'
import { TOPICS } from '../../packages/contracts/src/index'
import { Kafka, logLevel, MongoClient, postgres, stackEnv } from '../../packages/testing/src/index'
import { flagArg, intArg, stringArg } from '../lib/args'
import { newestProfile, type ProfileSummary, summarizeProfile } from '../lib/cpu-profile'
import { type RssStats, sampleRss } from '../lib/machine'
import { type PySpySummary, summarizePySpy } from '../lib/py-spy'
import { createReport, fixed, table } from '../lib/report'
import { freePort } from '../lib/service'

const LATENCY_COUNT = intArg('latency-count', 10_000, 10, 1_000_000)
const RATE = intArg('rate', 50, 1, 10_000)
const POLL_MS = intArg('poll-ms', 10, 1, 1_000)
const BURST_COUNT = intArg('burst-count', 10_000, 10, 1_000_000)
const DELAY = intArg('delay', 30, 0, 600)
const CONCURRENCY = intArg('concurrency', 64, 1, 1_024)
const WARMUP = intArg('warmup', 20, 0, 10_000)
/** Runs the Bun services under `--cpu-prof` (costs CPU: the figures of such a run are not the headline ones). */
const PROFILE = flagArg('profile')
const profileDir = (phase: string, name: string) =>
  join(
    stackEnv().STACK_DIR ?? join(import.meta.dir, '..', '..', '.stack'),
    'bench',
    `profile-${phase}-${runPrefix}`,
    name,
  )
const profiled = (phase: string) =>
  PROFILE
    ? {
        env: Object.fromEntries(
          (['stock', 'ads'] as const).map((name) => {
            mkdirSync(profileDir(phase, name), { recursive: true })
            return [
              name,
              { BUN_OPTIONS: `--cpu-prof --cpu-prof-md --cpu-prof-dir=${profileDir(phase, name)}` },
            ]
          }),
        ),
      }
    : {}
const profiles: { phase: string; name: string; summary: ProfileSummary }[] = []
const pySpyProfiles: { phase: string; summary: PySpySummary }[] = []
const PY_SPY = join(import.meta.dir, '..', '.venv', 'bin', 'py-spy')

/**
 * Replaces price-estimate-2 by the same estimator (same instance id and settings as the system harness
 * gives it) started under py-spy: py-spy may only trace its own children here, so it must start it.
 * Returns a stop function that ends the estimator with SIGTERM and reads the profile.
 */
async function profiledEstimator(system: System, phase: string): Promise<() => Promise<void>> {
  if (!existsSync(PY_SPY))
    throw new Error(
      `--profile needs py-spy: python3 -m venv bench/.venv && bench/.venv/bin/pip install py-spy==0.4.3`,
    )
  await system.kill('price-estimate-2', 'SIGTERM')
  const root = join(import.meta.dir, '..', '..')
  const port = freePort()
  const dir = profileDir(phase, 'price-estimate-2')
  mkdirSync(dir, { recursive: true })
  const out = join(dir, 'py-spy.txt')
  const stack = stackEnv()
  const child = Bun.spawn(
    [
      PY_SPY,
      'record',
      '-r',
      '200',
      '-f',
      'raw',
      '-o',
      out,
      '--nonblocking',
      '--',
      join(root, 'estimator', '.venv', 'bin', 'python'),
      '-m',
      'estimator',
    ],
    {
      cwd: join(root, 'estimator'),
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        KAFKA_BROKERS: stack.KAFKA_BROKERS,
        SCHEMA_REGISTRY_URL: stack.SCHEMA_REGISTRY_URL,
        INSTANCE_ID: '2',
        METRICS_PORT: String(port),
        METRICS_HOST: '127.0.0.1',
        ESTIMATE_DELAY_SECONDS: String(phase === 'latency' ? 0 : DELAY),
        CONTRACTS_DIR: join(root, 'packages', 'contracts', 'schemas'),
      },
      stdout: Bun.file(join(dir, 'estimator.log')),
      stderr: Bun.file(join(dir, 'estimator.log')),
    },
  )
  const deadline = performance.now() + 120_000
  for (;;) {
    const ready = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(2_000) })
      .then((r) => r.status === 200)
      .catch(() => false)
    if (ready) break
    if (child.exitCode !== null || performance.now() > deadline)
      throw new Error(`the profiled estimator did not become ready; see ${join(dir, 'estimator.log')}`)
    await Bun.sleep(250)
  }
  say('price-estimate-2: replaced by the same estimator under py-spy')
  return async () => {
    // The estimator is py-spy's child: end it, and py-spy writes its profile and exits.
    const children = Bun.spawnSync(['pgrep', '-P', String(child.pid)])
      .stdout.toString()
      .trim()
      .split('\n')
    for (const pid of children.filter(Boolean)) process.kill(Number(pid), 'SIGTERM')
    const ended = await Promise.race([child.exited.then(() => true), Bun.sleep(60_000).then(() => false)])
    if (!ended || !existsSync(out)) {
      say(`py-spy wrote no profile (${ended ? 'exited' : 'still running after 60 s'}); see ${dir}`)
      return
    }
    pySpyProfiles.push({ phase, summary: summarizePySpy(readFileSync(out, 'utf8')) })
    rmSync(dir, { recursive: true, force: true })
  }
}
function collectProfiles(phase: string) {
  if (!PROFILE) return
  for (const name of ['stock', 'ads']) {
    const markdown = newestProfile(profileDir(phase, name))
    if (markdown !== undefined) profiles.push({ phase, name, summary: summarizeProfile(markdown, 10) })
    rmSync(profileDir(phase, name), { recursive: true, force: true })
  }
}
const PHASES = ['latency', 'burst'] as const
const only = (stringArg('only') ?? PHASES.join(',')).split(',')
if (only.some((p) => !(PHASES as readonly string[]).includes(p))) {
  console.error(`--only: choose from ${PHASES.join(', ')}`)
  process.exit(2)
}
const say = (line: string) => console.log(`[pipeline] ${line}`)
const SERVICES = ['stock', 'ads', 'price-estimate-1', 'price-estimate-2'] as const

const VIN_ALPHABET = 'ABCDEFGHJKLMNPRSTUVWXYZ0123456789'
const runPrefix = Array.from({ length: 4 }, () => VIN_ALPHABET[Math.floor(Math.random() * 33)]).join('')
let vins = 0
/** A VIN unique to this run: random 4-character run prefix + a counter, in the VIN alphabet. */
function nextVin(): string {
  let n = vins++
  let out = ''
  for (let i = 0; i < 13; i++) {
    out = VIN_ALPHABET[n % 33] + out
    n = Math.floor(n / 33)
  }
  return `${runPrefix}${out}`
}

interface Posted {
  id?: string
  status: number
  ms: number
}

async function post(stockUrl: string): Promise<Posted> {
  const started = performance.now()
  try {
    const response = await fetch(`${stockUrl}/stock`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        vin: nextVin(),
        manufacturer: 'Volkswagen',
        model: 'Golf',
        year: 2019,
        odometer: 42_000,
        odometerUnit: 'km',
      }),
    })
    const body = (await response.json()) as { id?: string }
    return {
      ...(response.status === 201 && typeof body.id === 'string' ? { id: body.id } : {}),
      status: response.status,
      ms: performance.now() - started,
    }
  } catch {
    return { status: 0, ms: performance.now() - started }
  }
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0
    ? Number.NaN
    : (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN)

function statusCounts(list: Posted[]): string {
  const counts = new Map<number, number>()
  for (const p of list) counts.set(p.status, (counts.get(p.status) ?? 0) + 1)
  return [...counts].map(([status, n]) => `${status === 0 ? 'network error' : status}: ${n}`).join(', ')
}

const pidsOf = (system: System) => () =>
  Object.fromEntries(SERVICES.map((name) => [name, system.pid(name)])) as Record<string, number | undefined>

/** POSTs `count` vehicles and waits until all their ads exist: the pipeline is flowing end to end. */
async function warmUp(system: System, ads: AdsCollection, count: number): Promise<number> {
  if (count === 0) return 0
  const started = performance.now()
  const posted = await Promise.all(Array.from({ length: count }, () => post(system.stockUrl)))
  const ids = posted.flatMap((p) => (p.id === undefined ? [] : [p.id]))
  if (ids.length !== count)
    throw new Error(`warm-up: only ${ids.length} of ${count} POSTs created (${statusCounts(posted)})`)
  const deadline = started + 600_000 + DELAY * 1_000
  for (;;) {
    const seen = await ads.countDocuments({ _id: { $in: ids } })
    if (seen === ids.length) break
    if (performance.now() > deadline)
      throw new Error(
        `warm-up: ${seen} of ${ids.length} ads after ${fixed((performance.now() - started) / 1000)} s`,
      )
    await Bun.sleep(100)
  }
  const seconds = (performance.now() - started) / 1000
  say(`warm-up: ${count} vehicles through the pipeline in ${fixed(seconds, 1)} s`)
  return seconds
}

/**
 * A read_committed consumer of the processed topic in a group of its own, started at the end: notes when
 * each vehicle's processed event becomes readable, i.e. when the estimator's transaction committed. It
 * splits "estimate → ad visible" into the estimator's commit and the ads service's part.
 */
// kafkajs can reject a promise of its own group protocol (NOT_COORDINATOR while a coordinator moves) that
// nobody awaits; the watcher retries by itself, so such a rejection is noted, not fatal to the benchmark.
const watcherErrors: string[] = []
process.on('unhandledRejection', (reason) => {
  const text = reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason)
  if (!text.startsWith('KafkaJS')) throw reason
  watcherErrors.push(text)
  say(`watcher: ${text} (kafkajs retries)`)
})

async function watchCommitted(readableAt: Map<string, number>) {
  const stack = stackEnv()
  const groupId = `bench-pipeline-watch-${runPrefix}-${crypto.randomUUID().slice(0, 8)}`
  const kafka = new Kafka({
    clientId: groupId,
    brokers: stack.KAFKA_BROKERS.split(','),
    logLevel: logLevel.NOTHING,
  })
  const consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 100 })
  await consumer.connect()
  await consumer.subscribe({ topic: TOPICS.vehicleProcessed, fromBeginning: false })
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()))
  await consumer.run({
    eachMessage: async ({ message }) => {
      const key = message.key?.toString()
      if (key !== undefined && !readableAt.has(key)) readableAt.set(key, Date.now())
    },
  })
  await joined
  // The new group's starting offsets (latest) are fixed once it has fetched; give it that moment.
  await Bun.sleep(1_000)
  return async () => {
    await consumer.disconnect()
    const admin = kafka.admin()
    await admin.connect()
    await admin.deleteGroups([groupId]).catch(() => undefined)
    await admin.disconnect()
  }
}

/** What the warm-up needs of the ads collection. */
interface AdsCollection {
  countDocuments(filter: { _id: { $in: string[] } }): Promise<number>
}

/**
 * Where each vehicle's latency went, from the timestamps the system itself keeps: the POST (our clock),
 * the relay's mark (outbox.sent_at, PostgreSQL's clock when the relay marked it sent, after Kafka acked it),
 * the estimate (the ad's estimatedAt, stamped by the estimator as it produced the processed event)
 * and the ad written (its projectedAt). One machine, one clock.
 */
async function stageBreakdown(
  system: System,
  mongo: MongoClient,
  timeline: Map<string, { postedAt: number; visibleAt?: number }>,
  readableAt: Map<string, number>,
): Promise<Record<string, number[]>> {
  const ids = [...timeline.keys()]
  const sent = new Map<string, number>()
  const estimated = new Map<string, number>()
  const sql = postgres(system.stockDatabaseUrl, { max: 1, onnotice: () => {} })
  const ads = mongo.db(system.adsDatabase).collection<{ _id: string; estimatedAt: string }>(COLLECTION)
  try {
    for (let i = 0; i < ids.length; i += 1_000) {
      const chunk = ids.slice(i, i + 1_000)
      const rows = await sql<{ id: string; sent: number }[]>`
        select aggregate_id::text as id, (extract(epoch from sent_at) * 1000)::float8 as sent
        from outbox where aggregate_id = any(${chunk}::uuid[]) and sent_at is not null`
      for (const row of rows) sent.set(row.id, row.sent)
      for (const ad of await ads.find({ _id: { $in: chunk } }, { projection: { estimatedAt: 1 } }).toArray())
        estimated.set(ad._id, Date.parse(ad.estimatedAt))
    }
  } finally {
    await sql.end()
  }
  const stages: Record<string, number[]> = {
    'POST → outbox row marked sent (after Kafka acknowledged it)': [],
    'marked sent → estimate produced (the estimator may have it before the mark)': [],
    'estimate → readable on Kafka (estimator transaction commit)': [],
    'readable → ad written (ads consume and write)': [],
  }
  const [toRelay, toEstimate, toReadable, toVisible] = Object.values(stages) as [
    number[],
    number[],
    number[],
    number[],
  ]
  for (const [id, { postedAt, visibleAt }] of timeline) {
    const s = sent.get(id)
    const e = estimated.get(id)
    const r = readableAt.get(id)
    if (s === undefined || e === undefined || r === undefined || visibleAt === undefined) continue
    toRelay.push(s - postedAt)
    toEstimate.push(e - s)
    toReadable.push(r - e)
    toVisible.push(visibleAt - r)
  }
  for (const list of Object.values(stages)) list.sort((a, b) => a - b)
  return stages
}

interface LatencyResult {
  /** Ads of vehicles this run did not post, written after the warm-up: other runs' events on the shared topics. */
  foreign: number
  warmSeconds: number
  stages: Record<string, number[]>
  sent: number
  created: number
  seen: number
  sendSeconds: number
  latencies: number[]
  postMs: number[]
  statuses: string
  rss: Record<string, RssStats>
  /** The ads service's own histogram of Kafka record timestamp → ad written: cumulative counts by bound (s). */
  adsDelay: { le: string; count: number }[]
}

/** Cumulative buckets of one histogram from a Prometheus text exposition. */
async function histogramOf(url: string, name: string): Promise<{ le: string; count: number }[]> {
  const text = await (await fetch(url)).text()
  const buckets: { le: string; count: number }[] = []
  for (const [, le, count] of text.matchAll(
    new RegExp(`^${name}_bucket\\{le="([^"]+)"[^}]*\\} (\\d+)$`, 'gm'),
  ))
    buckets.push({ le: le ?? '', count: Number(count) })
  return buckets
}

async function latency(): Promise<LatencyResult> {
  const system = await startSystem({
    ...profiled('latency'),
    purpose: 'bench pipeline latency',
    estimateDelaySeconds: 0,
    say,
    lockWaitMs: 20 * 60_000,
  })
  const mongo = new MongoClient(system.mongoUrl, { serverSelectionTimeoutMS: 5_000 })
  let stopProfiledEstimator: (() => Promise<void>) | undefined
  try {
    const ads = mongo.db(system.adsDatabase).collection<{ _id: string }>(COLLECTION)
    if (PROFILE) stopProfiledEstimator = await profiledEstimator(system, 'latency')
    const warmSeconds = await warmUp(system, ads, WARMUP)
    const baseline = await ads.countDocuments({})
    const latencies: number[] = []
    const timeline = new Map<string, { postedAt: number; visibleAt?: number }>()
    const readableAt = new Map<string, number>()
    const stopWatching = await watchCommitted(readableAt)
    const results: Posted[] = []
    const rss = sampleRss(pidsOf(system), 500)
    say(`latency: ${LATENCY_COUNT} vehicles at ${RATE}/s; ads counted every ${POLL_MS} ms until all exist`)
    const started = performance.now()
    const inFlight: Promise<void>[] = []
    for (let i = 0; i < LATENCY_COUNT; i++) {
      const due = started + (i * 1000) / RATE
      const wait = due - performance.now()
      if (wait > 1) await Bun.sleep(wait)
      const postedAt = Date.now()
      inFlight.push(
        post(system.stockUrl).then((result) => {
          results.push(result)
          if (result.id !== undefined) timeline.set(result.id, { postedAt })
        }),
      )
    }
    await Promise.all(inFlight)
    const sendSeconds = (performance.now() - started) / 1000
    // The run's ads are only counted while it runs: a lookup per awaited vehicle costs FerretDB (SQLite
    // backend) a scan of the collection each, which slowed the very writes it timed. Each ad's time comes
    // afterwards from the ad itself (`projectedAt`, set by the ads service when it wrote it).
    const deadline = performance.now() + 120_000
    let count = 0
    while (performance.now() < deadline) {
      count = (await ads.countDocuments({})) - baseline
      if (count >= timeline.size) break
      await Bun.sleep(POLL_MS)
    }
    await stopWatching()
    const written = mongo.db(system.adsDatabase).collection<{ _id: string; projectedAt?: Date }>(COLLECTION)
    for await (const ad of written.find({}, { projection: { _id: 1, projectedAt: 1 } })) {
      const entry = timeline.get(ad._id)
      if (entry === undefined || ad.projectedAt === undefined) continue
      entry.visibleAt = ad.projectedAt.getTime()
      latencies.push(entry.visibleAt - entry.postedAt)
    }
    const missing = timeline.size - latencies.length
    if (missing > 0) say(`latency: ${missing} ads never appeared within 120 s of the last POST`)
    const adsDelay = await histogramOf(`${system.adsUrl}/metrics`, 'ads_projection_delay_seconds')
    const stages = await stageBreakdown(system, mongo, timeline, readableAt)
    await stopProfiledEstimator?.()
    stopProfiledEstimator = undefined
    const foreign = (await ads.countDocuments({})) - baseline - latencies.length
    return {
      foreign,
      warmSeconds,
      stages,
      sent: LATENCY_COUNT,
      created: results.filter((r) => r.id !== undefined).length,
      seen: latencies.length,
      sendSeconds,
      latencies: latencies.sort((a, b) => a - b),
      postMs: results.map((r) => r.ms).sort((a, b) => a - b),
      statuses: statusCounts(results),
      rss: rss.stop(),
      adsDelay,
    }
  } finally {
    await stopProfiledEstimator?.()
    await mongo.close()
    await system.stop()
  }
}

/**
 * When each stage of the burst began and finished, over all N vehicles, from the system's own timestamps
 * (seconds after the first POST): the stage whose span is longest is what bounds the burst.
 */
async function stageFlow(
  system: System,
  mongo: MongoClient,
  ids: string[],
  readableAt: Map<string, number>,
  startedAt: number,
  allAdsSeconds: number | undefined,
): Promise<(string | number)[][]> {
  const sql = postgres(system.stockDatabaseUrl, { max: 1, onnotice: () => {} })
  const ads = mongo.db(system.adsDatabase).collection<{ _id: string; estimatedAt: string }>(COLLECTION)
  const created: number[] = []
  const sent: number[] = []
  const estimated: number[] = []
  try {
    for (let i = 0; i < ids.length; i += 1_000) {
      const chunk = ids.slice(i, i + 1_000)
      const rows = await sql<{ created: number; sent: number | null }[]>`
        select (extract(epoch from created_at) * 1000)::float8 as created,
               (extract(epoch from sent_at) * 1000)::float8 as sent
        from outbox where aggregate_id = any(${chunk}::uuid[])`
      for (const row of rows) {
        created.push(row.created)
        if (row.sent !== null) sent.push(row.sent)
      }
      for (const ad of await ads.find({ _id: { $in: chunk } }, { projection: { estimatedAt: 1 } }).toArray())
        estimated.push(Date.parse(ad.estimatedAt))
    }
  } finally {
    await sql.end()
  }
  const readable = ids.flatMap((id) => {
    const at = readableAt.get(id)
    return at === undefined ? [] : [at]
  })
  const row = (stage: string, times: number[]) => {
    if (times.length === 0) return [stage, 0, 'n/a', 'n/a', 'n/a']
    const first = (Math.min(...times) - startedAt) / 1000
    const last = (Math.max(...times) - startedAt) / 1000
    return [
      stage,
      times.length,
      fixed(first, 1),
      fixed(last, 1),
      last > first ? fixed(times.length / (last - first)) : 'n/a',
    ]
  }
  return [
    row('vehicle + outbox row committed (POST)', created),
    row('outbox row sent to Kafka (relay transaction start)', sent),
    row(`price estimated (estimator, after its ${DELAY} s)`, estimated),
    row('processed event readable (estimator transaction committed)', readable),
    [
      'ad visible (all of them)',
      ids.length,
      '',
      allAdsSeconds === undefined ? 'not reached' : fixed(allAdsSeconds, 1),
      '',
    ],
  ]
}

interface BurstResult {
  flow: (string | number)[][]
  foreign: number
  warmSeconds: number
  created: number
  postSeconds: number
  allAdsSeconds: number | undefined
  adsSeen: number
  statuses: string
  rss: Record<string, RssStats>
}

async function burst(): Promise<BurstResult> {
  const system = await startSystem({
    ...profiled('burst'),
    purpose: 'bench pipeline burst',
    estimateDelaySeconds: DELAY,
    say,
    lockWaitMs: 20 * 60_000,
  })
  const mongo = new MongoClient(system.mongoUrl, { serverSelectionTimeoutMS: 5_000 })
  try {
    const ads = mongo.db(system.adsDatabase).collection<{ _id: string }>(COLLECTION)
    const warmSeconds = await warmUp(system, ads, WARMUP)
    const baseline = await ads.countDocuments({})
    const readableAt = new Map<string, number>()
    const stopWatching = await watchCommitted(readableAt)
    const rss = sampleRss(pidsOf(system), 500)
    say(`burst: ${BURST_COUNT} vehicles at once (${CONCURRENCY} connections), estimate delay ${DELAY} s`)
    const results: Posted[] = []
    const started = performance.now()
    const startedAt = Date.now()
    let next = 0
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < BURST_COUNT) {
          next += 1
          results.push(await post(system.stockUrl))
        }
      }),
    )
    const postSeconds = (performance.now() - started) / 1000
    const ids = new Set(results.flatMap((r) => (r.id === undefined ? [] : [r.id])))
    say(`burst: ${ids.size} created in ${fixed(postSeconds, 1)} s; waiting for their ads`)
    const deadline = started + Math.max(10 * 60_000, DELAY * 4_000)
    let allAdsSeconds: number | undefined
    let adsSeen = 0
    let lastSaid = 0
    while (performance.now() < deadline) {
      const count = (await ads.countDocuments({})) - baseline
      const now = performance.now()
      if (count >= ids.size) {
        // Every one of ours (another run's leftovers on the system topics could land here too).
        const present = new Set((await ads.find({}, { projection: { _id: 1 } }).toArray()).map((d) => d._id))
        adsSeen = [...ids].filter((id) => present.has(id)).length
        if (adsSeen === ids.size) {
          allAdsSeconds = (now - started) / 1000
          break
        }
      } else adsSeen = count
      if (now - lastSaid > 5_000) {
        say(`burst: ${count} new ads after ${fixed((now - started) / 1000, 1)} s`)
        lastSaid = now
      }
      await Bun.sleep(250)
    }
    const foreign = (await ads.countDocuments({})) - baseline - adsSeen
    await stopWatching()
    const flow = await stageFlow(system, mongo, [...ids], readableAt, startedAt, allAdsSeconds)
    return {
      flow,
      foreign,
      warmSeconds,
      created: ids.size,
      postSeconds,
      allAdsSeconds,
      adsSeen,
      statuses: statusCounts(results),
      rss: rss.stop(),
    }
  } finally {
    await mongo.close()
    await system.stop()
  }
}

const command = `bun run bench:pipeline${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`
const report = createReport('pipeline', command)
const problems: string[] = []
const figures: (string | number)[][] = []
const rssRows = (phase: string, rss: Record<string, RssStats>) =>
  SERVICES.map((name) => {
    const s = rss[name]
    return [
      phase,
      name,
      s === undefined ? 'n/a' : fixed(s.peakMiB, 1),
      s === undefined ? 'n/a' : fixed(s.meanMiB, 1),
      s?.samples ?? 0,
    ]
  })
const memory: (string | number)[][] = []

if (only.includes('latency')) {
  report.mark('latency: start')
  const r = await latency()
  report.mark('latency: end')
  collectProfiles('latency')
  const p = (q: number) => fixed(percentile(r.latencies, q), 1)
  report.section(
    `Delay 0: POST → ad visible, ${r.sent} vehicles at ${RATE}/s (open loop), time of each ad from its projectedAt`,
    table(
      ['measure', 'count', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
      [
        [
          'POST sent → ad written (its projectedAt)',
          r.seen,
          p(50),
          p(90),
          p(99),
          fixed(r.latencies.at(-1) ?? Number.NaN, 1),
        ],
        [
          'POST response alone',
          r.postMs.length,
          fixed(percentile(r.postMs, 50), 1),
          fixed(percentile(r.postMs, 90), 1),
          fixed(percentile(r.postMs, 99), 1),
          fixed(r.postMs.at(-1) ?? Number.NaN, 1),
        ],
      ],
    ),
  )
  report.section(
    'Where the latency goes, per vehicle, from the timestamps the system keeps (ms; clocks of one machine)',
    table(
      ['stage', 'p50 ms', 'p90 ms', 'p99 ms'],
      Object.entries(r.stages).map(([stage, list]) => [
        stage,
        fixed(percentile(list, 50), 1),
        fixed(percentile(list, 90), 1),
        fixed(percentile(list, 99), 1),
      ]),
    ),
  )
  const delayTotal = r.adsDelay.at(-1)?.count ?? 0
  report.section(
    "The ads hop as the ads service measures it (`ads_projection_delay_seconds`: the processed record's Kafka timestamp → its ad's write acknowledged; warm-up included)",
    table(
      ['written within', 'ads', 'share'],
      r.adsDelay.map(({ le, count }) => [
        le === '+Inf' ? 'any time' : `${Number(le) * 1000} ms`,
        count,
        `${fixed((100 * count) / Math.max(1, delayTotal), 1)} %`,
      ]),
    ),
  )
  report.note(`latency: ads of other runs' events processed meanwhile (shared topics): ${r.foreign}`)
  if (r.foreign > 0)
    problems.push(
      `latency: ${r.foreign} foreign events went through the pipeline during the run: the stack was not quiet`,
    )
  report.note(
    `latency: warm-up of ${WARMUP} vehicles (and any backlog ahead of them) took ${fixed(r.warmSeconds, 1)} s`,
  )
  report.note(
    `latency: POSTs sent in ${fixed(r.sendSeconds, 1)} s (${fixed(r.sent / r.sendSeconds)}/s achieved); statuses ${r.statuses}`,
  )
  const p99 = percentile(r.latencies, 99)
  figures.push([
    'delay 0: POST → ad visible p99',
    `${fixed(p99, 1)} ms at ${RATE}/s`,
    '< 100 ms',
    p99 < 100 ? 'met' : 'missed',
  ])
  if (r.created !== r.sent)
    problems.push(`latency: ${r.sent - r.created} POSTs were not created (${r.statuses})`)
  if (r.seen !== r.created) problems.push(`latency: ${r.created - r.seen} ads never appeared`)
  memory.push(...rssRows('delay 0, steady rate', r.rss))
}

if (only.includes('burst')) {
  report.mark('burst: start')
  const r = await burst()
  report.mark('burst: end')
  collectProfiles('burst')
  const original = (r.created * DELAY) / 2
  report.section(
    `Delay ${DELAY} s, two estimators: ${BURST_COUNT} vehicles POSTed at once (${CONCURRENCY} connections)`,
    table(
      ['measure', 'value'],
      [
        ['vehicles created (201)', r.created],
        ['seconds to POST them all', fixed(r.postSeconds, 1)],
        [
          'seconds from the first POST until every ad exists',
          r.allAdsSeconds === undefined ? `not reached (${r.adsSeen} ads)` : fixed(r.allAdsSeconds, 1),
        ],
        [`the original design (${r.created} × ${DELAY} s / 2 estimators)`, `${fixed(original)} s`],
      ],
    ),
  )
  report.note(
    `burst: warm-up of ${WARMUP} vehicles (and any backlog ahead of them) took ${fixed(r.warmSeconds, 1)} s`,
  )
  report.section(
    "Where the burst's time goes: when each stage began and finished over all vehicles (s after the first POST)",
    table(['stage', 'vehicles', 'first at s', 'last at s', 'per second between'], r.flow),
  )
  report.note(`burst: statuses ${r.statuses}`)
  report.note(`burst: ads of other runs' events processed meanwhile (shared topics): ${r.foreign}`)
  if (r.foreign > 0)
    problems.push(
      `burst: ${r.foreign} foreign events went through the pipeline during the run: the stack was not quiet`,
    )
  const seconds = r.allAdsSeconds ?? Number.POSITIVE_INFINITY
  figures.push([
    `delay ${DELAY} s, ${r.created} at once: all ads exist after`,
    `${fixed(seconds, 1)} s (${fixed(original / seconds)}× faster than the original design)`,
    '≤ 45 s',
    seconds <= 45 ? 'met' : 'missed',
  ])
  if (r.created !== BURST_COUNT)
    problems.push(`burst: ${BURST_COUNT - r.created} POSTs were not created (${r.statuses})`)
  if (r.allAdsSeconds === undefined) problems.push(`burst: only ${r.adsSeen} of ${r.created} ads appeared`)
  memory.push(...rssRows(`delay ${DELAY} s, burst`, r.rss))
  for (const name of ['stock', 'ads'] as const) {
    const peak = r.rss[name]?.peakMiB ?? Number.NaN
    figures.push([
      `${name} RSS peak during the burst`,
      `${fixed(peak, 1)} MiB (${fixed(peak * 1.048576, 1)} MB)`,
      '< 80 MB',
      peak * 1.048576 < 80 ? 'met' : 'missed',
    ])
  }
}

report.section(
  'Resident memory (sampled every 500 ms)',
  table(['phase', 'process', 'peak MiB', 'mean MiB', 'samples'], memory),
)
for (const { phase, name, summary } of profiles) {
  report.section(
    `CPU profile of ${name} during the ${phase} phase (bun --cpu-prof; self time by package, whole process life)`,
    table(
      ['package', 'self ms', 'share'],
      summary.byPackage.map((p) => [p.name, fixed(p.ms), `${fixed(p.share * 100)} %`]),
    ) +
      '\n\n' +
      table(
        ['hottest function', 'location', 'self ms'],
        summary.hot.map((h) => [`\`${h.fn}\``, `\`${h.location}\``, fixed(h.ms)]),
      ),
  )
}
for (const { phase, summary } of pySpyProfiles) {
  report.section(
    `py-spy profile of price-estimate-2 during the ${phase} phase (${summary.samples} samples at 200/s, on-CPU only)`,
    table(
      ['on CPU itself (leaf frame)', 'samples', 'share'],
      summary.leaf.map((f) => [`\`${f.frame}\``, f.samples, `${fixed(f.share * 100)} %`]),
    ) +
      '\n\n' +
      table(
        ['estimator function (inclusive)', 'samples', 'share'],
        summary.inclusive.map((f) => [`\`${f.frame}\``, f.samples, `${fixed(f.share * 100)} %`]),
      ),
  )
}
if (PROFILE)
  report.note('PROFILED RUN: stock and ads ran under bun --cpu-prof; their figures carry its cost.')
report.section('Figures', table(['figure', 'value', 'goal', ''], figures))
if (watcherErrors.length > 0)
  report.note(
    `the processed-topic watcher saw ${watcherErrors.length} kafkajs error(s): ${[...new Set(watcherErrors)].join('; ')}`,
  )
for (const p of problems) report.note(`PROBLEM: ${p}`)
report.print()
process.exit(problems.length > 0 ? 1 : 0)
