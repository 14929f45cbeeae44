/**
 * The latency phase (estimator delay 0): vehicles POSTed at a steady rate, open loop (each at its planned
 * time, whatever the previous one does). Each counted sample is one vehicle: its ad's `projectedAt` (the
 * ads service's clock when it wrote the ad) minus the POST's send time as this client saw it (same host,
 * same clock). Percentiles and the distribution table are computed from the same samples; what was not
 * counted is listed with the reason. With `--sweep` the phase runs at each rate in turn on one system.
 */

import { type System, startSystem } from '../../infra/system/system'
import { COLLECTION } from '../../packages/ads/src/ads/repository'
import { MongoClient, postgres } from '../../packages/testing/src/index'
import type { RssStats } from '../lib/machine'
import { sampleRss } from '../lib/machine'
import { openLoop } from '../lib/open-loop'
import {
  pidsOf,
  post,
  say,
  statusCounts,
  type Watched,
  waitForStableGroup,
  warmUp,
  watchProcessed,
} from './common'
import {
  LATENCY_COUNT,
  POLL_MS,
  PROFILE,
  RATE,
  SAMPLES_CSV,
  SWEEP,
  SWEEP_SECONDS,
  WARMUP,
  WARMUP_SECONDS,
} from './options'
import { profiled, profiledEstimator } from './profile'

// "readable" is when this process's read_committed watcher (one consumer of both topics) received the
// record: the relay's and the estimator's commits are both seen by the same reader on the same clock. A
// bench process short of CPU receives records late, which shows as a negative following stage (the
// estimator or the ads service had the record first). The outbox row's sent_at is not a stage boundary:
// the relay marks rows after its commit, pipelined with the next sends, so under load the estimator often
// produced before the mark (it is reported on its own line).
export const STAGES = [
  'POST sent → created event readable (relay: outbox row read, sent and committed)',
  'created readable → processed record produced (estimator: fetch and produce)',
  'produced → readable (estimator transaction committed)',
  'readable → ad written (ads consume and write)',
] as const

export interface RateResult {
  rate: number
  sent: number
  created: number
  sendSeconds: number
  /** POST send → ad projectedAt (ms), sorted: one per counted vehicle. */
  samples: number[]
  statuses: string
  /** Created vehicles whose ad did not exist 120 s after the last POST. */
  noAd: string[]
  /** Ads without projectedAt (written by an older ads service). */
  noProjectedAt: number
  /** Counted ads left out of the stage breakdown: created or processed record not seen by the watcher. */
  noStages: number
  stages: Record<(typeof STAGES)[number], number[]>
  /** POST sent → outbox row marked sent (the relay marks after its commit, pipelined with later sends). */
  markedMs: number[]
  postMs: number[]
  /** Estimator transactions committed and records priced during the run (both instances). */
  commits: number
  priced: number
  /** Mean time the estimators' loop spent in one commit (ms). */
  commitMs: number
  foreign: number
}

interface EstimatorCounters {
  commits: number
  priced: number
  /** The loop's time in commits (estimator_commit_seconds): its sum and how many it timed. */
  commitSeconds: number
  timedCommits: number
}

async function estimatorCounters(system: System): Promise<EstimatorCounters> {
  const sum: EstimatorCounters = { commits: 0, priced: 0, commitSeconds: 0, timedCommits: 0 }
  const read = (text: string, pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 0)
  for (const url of system.estimatorUrls) {
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text()
    sum.commits += read(text, /^estimator_transactions_total\{outcome="committed"\} ([0-9.e+-]+)$/m)
    sum.priced += read(text, /^estimator_processed_total ([0-9.e+-]+)$/m)
    sum.commitSeconds += read(text, /^estimator_commit_seconds_sum ([0-9.e+-]+)$/m)
    sum.timedCommits += read(text, /^estimator_commit_seconds_count ([0-9.e+-]+)$/m)
  }
  return sum
}

async function outboxSentAt(system: System, ids: string[]): Promise<Map<string, number>> {
  const sent = new Map<string, number>()
  const sql = postgres(system.stockDatabaseUrl, { max: 1, onnotice: () => {} })
  try {
    for (let i = 0; i < ids.length; i += 1_000) {
      const rows = await sql<{ id: string; sent: number }[]>`
        select aggregate_id::text as id, (extract(epoch from sent_at) * 1000)::float8 as sent
        from outbox where aggregate_id = any(${ids.slice(i, i + 1_000)}::uuid[]) and sent_at is not null`
      for (const row of rows) sent.set(row.id, row.sent)
    }
  } finally {
    await sql.end()
  }
  return sent
}

async function runRate(
  system: System,
  mongo: MongoClient,
  rate: number,
  count: number,
  counted = true,
): Promise<RateResult> {
  const ads = mongo.db(system.adsDatabase).collection<{ _id: string; projectedAt?: Date }>(COLLECTION)
  const baseline = await ads.countDocuments({})
  const watched = new Map<string, Watched>()
  const createdReadable = new Map<string, number>()
  const stopWatching = await watchProcessed(watched, createdReadable)
  const before = await estimatorCounters(system)
  say(
    `latency${counted ? '' : ' warm-up (not counted)'}: ${count} vehicles at ${rate}/s; ads counted every ${POLL_MS} ms until all exist`,
  )
  const started = performance.now()
  const results = await openLoop(count, rate, () => post(system.stockUrl))
  const sendSeconds = (performance.now() - started) / 1000
  const created = new Map(results.flatMap((r) => (r.id === undefined ? [] : [[r.id, r.sentAt] as const])))
  // Only counted while it runs: a lookup per vehicle costs FerretDB (SQLite backend) a scan each, which
  // slowed the very writes it timed. Each ad's time comes afterwards from the ad itself.
  const deadline = performance.now() + 120_000
  while (performance.now() < deadline && (await ads.countDocuments({})) - baseline < created.size)
    await Bun.sleep(POLL_MS)
  await stopWatching()
  const after = await estimatorCounters(system)
  const projected = new Map<string, number | undefined>()
  for await (const ad of ads.find({}, { projection: { _id: 1, projectedAt: 1 } }))
    if (created.has(ad._id)) projected.set(ad._id, ad.projectedAt?.getTime())
  const sent = await outboxSentAt(system, [...created.keys()])
  const samples: number[] = []
  const stages = Object.fromEntries(STAGES.map((s) => [s, [] as number[]])) as RateResult['stages']
  const noAd: string[] = []
  let noProjectedAt = 0
  let noStages = 0
  const markedMs: number[] = []
  const rows: string[] = ['sent_at_ms,post_ms,relay_ms,produce_ms,commit_ms,ads_ms,total_ms']
  const postMsById = new Map(results.flatMap((r) => (r.id === undefined ? [] : [[r.id, r.ms] as const])))
  for (const [id, sentAt] of created) {
    if (!projected.has(id)) {
      noAd.push(id)
      continue
    }
    const at = projected.get(id)
    if (at === undefined) {
      noProjectedAt++
      continue
    }
    samples.push(at - sentAt)
    const relayed = createdReadable.get(id)
    const seen = watched.get(id)
    const marked = sent.get(id)
    if (marked !== undefined) markedMs.push(marked - sentAt)
    if (relayed === undefined || seen === undefined) {
      noStages++
      continue
    }
    stages[STAGES[0]].push(relayed - sentAt)
    stages[STAGES[1]].push(seen.producedAt - relayed)
    stages[STAGES[2]].push(seen.readableAt - seen.producedAt)
    stages[STAGES[3]].push(at - seen.readableAt)
    const parts = [
      relayed - sentAt,
      seen.producedAt - relayed,
      seen.readableAt - seen.producedAt,
      at - seen.readableAt,
    ]
    rows.push([sentAt, postMsById.get(id), ...parts, at - sentAt].map((v) => Math.round(Number(v))).join(','))
  }
  if (SAMPLES_CSV !== undefined)
    await Bun.write(`${SAMPLES_CSV.replace(/\.csv$/, '')}-${rate}.csv`, `${rows.join('\n')}\n`)
  for (const list of [...Object.values(stages), markedMs]) list.sort((a, b) => a - b)
  return {
    rate,
    sent: count,
    created: created.size,
    sendSeconds,
    samples: samples.sort((a, b) => a - b),
    statuses: statusCounts(results),
    noAd,
    noProjectedAt,
    noStages,
    stages,
    markedMs,
    postMs: results.map((r) => r.ms).sort((a, b) => a - b),
    commits: after.commits - before.commits,
    priced: after.priced - before.priced,
    commitMs:
      (1000 * (after.commitSeconds - before.commitSeconds)) /
      Math.max(1, after.timedCommits - before.timedCommits),
    foreign: (await ads.countDocuments({})) - baseline - projected.size,
  }
}

export interface LatencyPhase {
  runs: RateResult[]
  warmSeconds: number
  /** The steady warm-up at the first rate (--warmup-seconds), not counted; undefined with 0 seconds. */
  warmRun: RateResult | undefined
  rss: Record<string, RssStats>
}

export async function latency(): Promise<LatencyPhase> {
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
    if (PROFILE) stopProfiledEstimator = await profiledEstimator(system, 'latency')
    const ads = mongo.db(system.adsDatabase).collection<{ _id: string }>(COLLECTION)
    await waitForStableGroup(system.estimatorUrls)
    const warmSeconds = await warmUp(system, ads, WARMUP)
    const firstRate = SWEEP?.[0] ?? RATE
    const warmRun =
      WARMUP_SECONDS > 0
        ? await runRate(system, mongo, firstRate, firstRate * WARMUP_SECONDS, false)
        : undefined
    const rss = sampleRss(pidsOf(system), 500)
    const runs: RateResult[] = []
    for (const rate of SWEEP ?? [RATE]) {
      runs.push(
        await runRate(system, mongo, rate, SWEEP === undefined ? LATENCY_COUNT : rate * SWEEP_SECONDS),
      )
      await Bun.sleep(2_000)
    }
    await stopProfiledEstimator?.()
    stopProfiledEstimator = undefined
    return { runs, warmSeconds, warmRun, rss: rss.stop() }
  } finally {
    await stopProfiledEstimator?.()
    await mongo.close()
    await system.stop()
  }
}
