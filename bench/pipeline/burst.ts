/**
 * The burst phase: estimator delay 30 s (the original's), two estimators, N vehicles POSTed at once (as
 * fast as --concurrency connections go); the time from the first POST until all N ads exist, with when
 * each stage began and finished over all vehicles, and the RSS of each service sampled throughout.
 */

import { type System, startSystem } from '../../infra/system/system'
import { COLLECTION } from '../../packages/ads/src/ads/repository'
import { MongoClient, postgres } from '../../packages/testing/src/index'
import { type RssStats, sampleRss } from '../lib/machine'
import { fixed } from '../lib/report'
import {
  type Posted,
  pidsOf,
  post,
  say,
  statusCounts,
  type Watched,
  waitForStableGroup,
  warmUp,
  watchProcessed,
} from './common'
import { BURST_COUNT, CONCURRENCY, DELAY, WARMUP } from './options'
import { profiled } from './profile'

/**
 * When each stage of the burst began and finished, over all N vehicles, from the system's own timestamps
 * (seconds after the first POST): the stage whose span is longest is what bounds the burst.
 */
export async function stageFlow(
  system: System,
  ids: string[],
  watched: Map<string, Watched>,
  startedAt: number,
  ads: AllAds,
): Promise<(string | number)[][]> {
  const sql = postgres(system.stockDatabaseUrl, { max: 1, onnotice: () => {} })
  const created: number[] = []
  const sent: number[] = []
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
    }
  } finally {
    await sql.end()
  }
  const produced = ids.flatMap((id) => {
    const seen = watched.get(id)
    return seen === undefined ? [] : [seen.producedAt]
  })
  const readable = ids.flatMap((id) => {
    const seen = watched.get(id)
    return seen === undefined ? [] : [seen.readableAt]
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
    row(`processed record produced (estimator, after its ${DELAY} s)`, produced),
    row('processed event readable (estimator transaction committed)', readable),
    row('ad written (its projectedAt)', ads.writtenAt),
    [
      "all ads seen by the bench's poll (a count every second)",
      ids.length,
      '',
      ads.seenSeconds === undefined ? 'not reached' : fixed(ads.seenSeconds, 1),
      '',
    ],
  ]
}

/** When the burst's ads were written and when the bench saw the last of them. */
export interface AllAds {
  /** Each of our ads' `projectedAt` (epoch ms): set by vehicles-ads when it sends the ad's write. */
  writtenAt: number[]
  /** Seconds after the first POST until every ad was written: the last `projectedAt`. */
  writtenSeconds: number | undefined
  /** Seconds after the first POST until the bench's poll counted every ad (an upper bound). */
  seenSeconds: number | undefined
  /** Our ads present at the end. */
  present: number
}

export interface BurstResult {
  flow: (string | number)[][]
  foreign: number
  warmSeconds: number
  created: number
  postSeconds: number
  ads: AllAds
  statuses: string
  rss: Record<string, RssStats>
}

export async function burst(): Promise<BurstResult> {
  const system = await startSystem({
    ...profiled('burst'),
    purpose: 'bench pipeline burst',
    estimateDelaySeconds: DELAY,
    say,
    lockWaitMs: 20 * 60_000,
  })
  const mongo = new MongoClient(system.mongoUrl, { serverSelectionTimeoutMS: 5_000 })
  try {
    const ads = mongo.db(system.adsDatabase).collection<{ _id: string; projectedAt?: Date }>(COLLECTION)
    await waitForStableGroup(system.estimatorUrls)
    const warmSeconds = await warmUp(system, ads, WARMUP)
    const baseline = await ads.countDocuments({})
    const watched = new Map<string, Watched>()
    const stopWatching = await watchProcessed(watched)
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
    let seenSeconds: number | undefined
    let present = new Map<string, number | undefined>()
    // Our ads (another run's leftovers on the system topics could land here too), with their projectedAt.
    const ours = async () =>
      new Map(
        (await ads.find({}, { projection: { _id: 1, projectedAt: 1 } }).toArray())
          .filter((d) => ids.has(d._id))
          .map((d) => [d._id, d.projectedAt?.getTime()]),
      )
    let lastSaid = 0
    // The poll only says when the run is over: each count is a collection scan on FerretDB (SQLite
    // backend), which takes up to a second at 10,000 ads and competes with the ads' own writes. When
    // every ad was written comes from the ads themselves (projectedAt, this machine's clock).
    while (performance.now() < deadline) {
      const count = (await ads.countDocuments({})) - baseline
      const now = performance.now()
      if (count >= ids.size) {
        present = await ours()
        if (present.size === ids.size) {
          seenSeconds = (now - started) / 1000
          break
        }
      }
      if (now - lastSaid > 5_000) {
        say(`burst: ${count} new ads after ${fixed((now - started) / 1000, 1)} s`)
        lastSaid = now
      }
      await Bun.sleep(1_000)
    }
    if (seenSeconds === undefined) present = await ours()
    const writtenAt = [...present.values()].filter((t): t is number => t !== undefined)
    const allAds: AllAds = {
      writtenAt,
      writtenSeconds:
        seenSeconds !== undefined && writtenAt.length === ids.size
          ? (Math.max(...writtenAt) - startedAt) / 1000
          : undefined,
      seenSeconds,
      present: present.size,
    }
    const foreign = (await ads.countDocuments({})) - baseline - present.size
    await stopWatching()
    const flow = await stageFlow(system, [...ids], watched, startedAt, allAds)
    return {
      flow,
      foreign,
      warmSeconds,
      created: ids.size,
      postSeconds,
      ads: allAds,
      statuses: statusCounts(results),
      rss: rss.stop(),
    }
  } finally {
    await mongo.close()
    await system.stop()
  }
}
