/**
 * What both phases of the pipeline benchmark share: vehicles to POST (each with its send time as the
 * client saw it), percentiles, the warm-up, and a read_committed watcher of the processed topic.
 *
 * One clock: every time here is the wall clock of this one machine (Date.now() in this process, the ads
 * service's `new Date()` for projectedAt, the estimator's producer for the record timestamp, PostgreSQL's
 * now() for sent_at), so no two processes can disagree by more than the kernel's clock reads.
 */

import type { System } from '../../infra/system/system'
import { TOPICS } from '../../packages/contracts/src/index'
import { createConsumer } from '../../packages/kafka/src/index'
import { stackEnv } from '../../packages/testing/src/index'
import { fixed } from '../lib/report'
import { DELAY } from './options'

export const say = (line: string) => console.log(`[pipeline] ${line}`)
export const SERVICES = ['stock', 'ads', 'price-estimate-1', 'price-estimate-2'] as const

const VIN_ALPHABET = 'ABCDEFGHJKLMNPRSTUVWXYZ0123456789'
export const runPrefix = Array.from({ length: 4 }, () => VIN_ALPHABET[Math.floor(Math.random() * 33)]).join(
  '',
)
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

export interface Posted {
  id?: string
  status: number
  /** Wall clock (ms) just before the request was handed to fetch: the send time as the client saw it. */
  sentAt: number
  ms: number
}

export async function post(stockUrl: string): Promise<Posted> {
  const sentAt = Date.now()
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
      sentAt,
      ms: performance.now() - started,
    }
  } catch {
    return { status: 0, sentAt, ms: performance.now() - started }
  }
}

export { percentile } from '../lib/percentile'

export function statusCounts(list: Posted[]): string {
  const counts = new Map<number, number>()
  for (const p of list) counts.set(p.status, (counts.get(p.status) ?? 0) + 1)
  return [...counts].map(([status, n]) => `${status === 0 ? 'network error' : status}: ${n}`).join(', ')
}

export const pidsOf = (system: System) => () =>
  Object.fromEntries(SERVICES.map((name) => [name, system.pid(name)])) as Record<string, number | undefined>

/**
 * Waits until both estimators own partitions and their assignment has not changed for `stableMs`: the
 * second estimator joins a few seconds after the first, and the cooperative rebalance that follows moves
 * half of the partitions (their records wait for it, and a transaction carrying them is aborted). A run
 * that started before that measured the rebalance (tails of 2 to 3 s at 50/s), not the pipeline.
 */
export async function waitForStableGroup(urls: readonly string[], stableMs = 3_000): Promise<number> {
  const started = performance.now()
  const deadline = started + 120_000
  let last = ''
  let since = performance.now()
  for (;;) {
    const owned = await Promise.all(
      urls.map(async (url) => {
        const text = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })
          .then((r) => r.text())
          .catch(() => '')
        return Number(/^estimator_assigned_partitions ([0-9.e+-]+)$/m.exec(text)?.[1] ?? 0)
      }),
    )
    const now = performance.now()
    const key = owned.join(',')
    if (key !== last) {
      last = key
      since = now
    }
    if (owned.every((n) => n > 0) && now - since >= stableMs) break
    if (now > deadline) throw new Error(`the estimators' group did not settle in 120 s (partitions ${key})`)
    await Bun.sleep(200)
  }
  const seconds = (performance.now() - started) / 1000
  say(`estimators' group settled (partitions ${last}) after ${fixed(seconds, 1)} s`)
  return seconds
}

/** POSTs `count` vehicles and waits until all their ads exist: the pipeline is flowing end to end. */
export async function warmUp(system: System, ads: AdsCollection, count: number): Promise<number> {
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
 * A read_committed consumer of the processed topic in a group of its own (the system's Kafka module,
 * librdkafka), started at the end: for each vehicle, when the estimator produced its processed record
 * (the record's CreateTime, stamped by the estimator's producer) and when it became readable here (the
 * estimator's transaction committed). The event's own estimatedAt cannot say when it was produced: it is
 * derived from the created event so that a re-run writes the same bytes. The group is left behind (the
 * module's admin does not delete groups); its offsets expire with the broker's offsets retention.
 */
export const watcherErrors: string[] = []

export interface Watched {
  producedAt: number
  readableAt: number
}

/**
 * With `createdReadable`, the created topic too: per vehicle, when its created event became readable
 * here (the relay's transaction committed), on the same clock as the processed records' stamps.
 */
export async function watchProcessed(seen: Map<string, Watched>, createdReadable?: Map<string, number>) {
  const stack = stackEnv()
  const groupId = `bench-pipeline-watch-${runPrefix}-${crypto.randomUUID().slice(0, 8)}`
  const consumer = createConsumer({
    brokers: stack.KAFKA_BROKERS.split(','),
    clientId: groupId,
    groupId,
    topics:
      createdReadable === undefined
        ? [TOPICS.vehicleProcessed]
        : [TOPICS.vehicleProcessed, TOPICS.vehicleCreated],
    readCommitted: true,
    fromBeginning: false,
    // Every partition's batch at once: a watcher that falls behind would stamp "readable" late.
    maxBufferedMessages: 20_000,
    maxBatchSize: 5_000,
    onError: (error, context) => {
      watcherErrors.push(`${context.stage}: ${error.message}`)
      say(`watcher: ${context.stage}: ${error.message}`)
    },
  })
  await consumer.runBatches(async ({ topic, messages }) => {
    const now = Date.now()
    for (const message of messages) {
      const key = message.key ?? undefined
      if (key === undefined) continue
      if (topic === TOPICS.vehicleCreated) {
        if (!createdReadable?.has(key)) createdReadable?.set(key, now)
      } else if (!seen.has(key)) seen.set(key, { producedAt: message.timestamp, readableAt: now })
    }
  })
  // The new group's starting offsets (latest) are fixed once it has fetched; give it that moment.
  await Bun.sleep(1_000)
  return async () => {
    await consumer.close()
  }
}

/** What the warm-up needs of the ads collection. */
export interface AdsCollection {
  countDocuments(filter: { _id: { $in: string[] } }): Promise<number>
}
