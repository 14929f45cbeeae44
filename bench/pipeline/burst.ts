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
  allAdsSeconds: number | undefined,
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
    [
      'ad visible (all of them)',
      ids.length,
      '',
      allAdsSeconds === undefined ? 'not reached' : fixed(allAdsSeconds, 1),
      '',
    ],
  ]
}

export interface BurstResult {
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
    const ads = mongo.db(system.adsDatabase).collection<{ _id: string }>(COLLECTION)
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
    const flow = await stageFlow(system, [...ids], watched, startedAt, allAdsSeconds)
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
