/**
 * The relay's ceiling on the Kafka side: what transactions alone move, with no database at all, one at a
 * time (as the relay sends) and several in flight at once (each on its own transactional id, as a relay
 * with several transactions open would), against kcat producing the same records in the same run.
 * With bench/relay/run.ts's Kafka-free runs (`500x1f`: the database side alone) it bounds every relay
 * design: a relay is no faster than the slower of its two sides.
 *
 * Each run sends `--events` records of `--bytes` bytes (keys: fresh UUIDs, like vehicle ids) to a fresh
 * 6-partition RF 3 topic in transactions of `--txn-records`, split evenly over `w` producers for each
 * `w` in `--parallel`; the clock runs from the first begin to the last acknowledged commit (producers
 * connected before). kcat: acks=all, idempotent, murmur2_random, start to exit.
 *
 *   bun run bench:relay-ceiling -- [--events 50000] [--bytes 308] [--txn-records 2000] [--parallel 1,2,4] [--repeat 3]
 */
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createAdmin, createTransactionalProducer, type ProducerRecord } from '../../packages/kafka/src/index'
import { stackEnv } from '../../packages/testing/src/index'
import { intArg, stringArg } from '../lib/args'
import { kcatCommittedCount, kcatProduce } from '../lib/kcat'
import { median } from '../lib/percentile'
import { createReport, fixed, pct, table } from '../lib/report'

const EVENTS = intArg('events', 50_000, 1_000, 1_000_000)
const BYTES = intArg('bytes', 308, 10, 100_000)
const TXN_RECORDS = intArg('txn-records', 2_000, 1, 100_000)
const PARALLEL = (stringArg('parallel') ?? '1,2,4').split(',').map(Number)
const REPEAT = intArg('repeat', 3, 1, 20)
if (PARALLEL.some((w) => !Number.isInteger(w) || w < 1 || w > 16)) {
  console.error('--parallel: comma-separated producer counts 1..16, e.g. 1,2,4')
  process.exit(2)
}
const env = stackEnv()
const brokers = env.KAFKA_BROKERS.split(',')
const tag = Date.now().toString(36)
const say = (line: string) => console.log(`[kafka-ceiling] ${line}`)
const report = createReport(
  'relay-kafka-ceiling',
  `bun run bench:relay-ceiling -- ${process.argv.slice(2).join(' ')}`,
)

// Printable values (kcat reads them from a text file) without the delimiters.
const records: ProducerRecord[] = Array.from({ length: EVENTS }, (_, i) => ({
  topic: '',
  key: crypto.randomUUID(),
  value: Buffer.from(`{"n":${i},"pad":"${'x'.repeat(Math.max(0, BYTES - 20))}"}`.slice(0, BYTES)),
}))

async function transactions(topic: string, w: number): Promise<number> {
  const producers = Array.from({ length: w }, (_, i) =>
    createTransactionalProducer({
      brokers,
      clientId: `bench-ceiling-${tag}-${i}`,
      transactionalId: `bench-ceiling-${tag}-${w}-${i}`,
    }),
  )
  await Promise.all(producers.map((p) => p.connect()))
  try {
    // Warm each producer's connections and metadata for this topic: not counted.
    await Promise.all(
      producers.map((p, i) => p.sendTransaction([{ topic, key: `warm-${i}`, value: Buffer.alloc(1) }])),
    )
    const batches: ProducerRecord[][] = []
    for (let i = 0; i < EVENTS; i += TXN_RECORDS)
      batches.push(records.slice(i, i + TXN_RECORDS).map((r) => ({ ...r, topic })))
    let next = 0
    const started = performance.now()
    await Promise.all(
      producers.map(async (p) => {
        for (let batch = batches[next++]; batch !== undefined; batch = batches[next++])
          await p.sendTransaction(batch)
      }),
    )
    return (performance.now() - started) / 1000
  } finally {
    await Promise.all(producers.map((p) => p.disconnect()))
  }
}

async function kcat(topic: string): Promise<number> {
  const file = join('/tmp', `bench-ceiling-${tag}.txt`)
  writeFileSync(file, `${records.map((r) => `${r.key}|${r.value.toString()}`).join('\n')}\n`)
  try {
    return (await kcatProduce(env.KAFKA_BROKERS, topic, file, ['-K', '|'])).seconds
  } finally {
    rmSync(file, { force: true })
  }
}

const problems: string[] = []
async function check(topic: string, want: number): Promise<void> {
  const seen = await kcatCommittedCount(env.KAFKA_BROKERS, topic)
  if (seen !== want) problems.push(`${topic} holds ${seen} committed records, want ${want}`)
}

const admin = createAdmin({ brokers, clientId: `bench-ceiling-admin-${tag}` })
await admin.connect()
// A fresh topic per measurement: every run starts on empty partitions, as kcat's does.
const topics: string[] = []
const freshTopic = async (name: string) => {
  const topic = `bench.ceiling.${tag}.${topics.length}-${name}`
  topics.push(topic)
  await admin.createTopics([
    { topic, partitions: 6, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } },
  ])
  await Bun.sleep(1_000)
  return topic
}
try {
  // Interleaved rounds, each with its own kcat: kcat alone moved by a factor of 2.8 between two runs a
  // minute apart here, so only a ratio taken within one round says anything.
  const perRound: { kcat: number; seconds: Map<number, number> }[] = []
  report.mark('start')
  for (let round = 1; round <= REPEAT; round++) {
    const seconds = new Map<number, number>()
    for (const w of PARALLEL) {
      const topic = await freshTopic(`w${w}`)
      seconds.set(w, await transactions(topic, w))
      // Every record, plus each producer's one warm-up record.
      await check(topic, EVENTS + w)
      say(`round ${round}, ${w} in flight: ${fixed(EVENTS / (seconds.get(w) ?? Number.NaN))} events/s`)
    }
    const kcatTopic = await freshTopic('kcat')
    const kcatSeconds = await kcat(kcatTopic)
    await check(kcatTopic, EVENTS)
    say(`round ${round}, kcat: ${fixed(EVENTS / kcatSeconds)} events/s`)
    perRound.push({ kcat: kcatSeconds, seconds })
    report.mark(`after round ${round}`)
  }
  const rows = PARALLEL.map((w) => {
    const rates = perRound.map((r) => EVENTS / (r.seconds.get(w) ?? Number.NaN))
    const ratios = perRound.map((r) => r.kcat / (r.seconds.get(w) ?? Number.NaN))
    return [
      `${w} transaction${w > 1 ? 's' : ''} in flight`,
      rates.map((r) => fixed(r)).join(' / '),
      ratios.map(pct).join(' / '),
      `**${pct(median(ratios))}**`,
    ]
  })
  rows.push(['kcat (start to exit)', perRound.map((r) => fixed(EVENTS / r.kcat)).join(' / '), '', ''])
  report.section(
    `${EVENTS} records of ${BYTES} bytes, transactions of ${TXN_RECORDS}, a fresh 6-partition RF 3 topic per run, acks=all; ${REPEAT} interleaved rounds`,
    table(['producer', 'events/s per round', 'of kcat per round', 'median of the rounds'], rows),
  )
  for (const p of problems) report.note(`PROBLEM: ${p}`)
  report.print()
} finally {
  await admin.deleteTopics(topics).catch(() => {})
  await admin.disconnect()
}
process.exit(problems.length > 0 ? 1 : 0)
