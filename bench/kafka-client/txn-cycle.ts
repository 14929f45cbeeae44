/**
 * How long one small Kafka transaction takes when it follows the producer's previous commit after a
 * given pause: the relay and the estimator run transactions back to back, and each one's first
 * AddPartitionsToTxn is refused (CONCURRENT_TRANSACTIONS, retried by librdkafka every 20 ms) until the
 * coordinator has completed the previous transaction, which ends with a replicated write of its own.
 * A transaction that was refused shows as 20 ms or more above the others at the same pause.
 *
 * For each `--gaps` value: `--count` transactions of one 300-byte record on a fresh 6-partition RF 3
 * topic, each begun that many ms after the previous commit was acknowledged; begin → commit
 * acknowledged, per transaction (the module's `sendTransaction`).
 *
 * `--rotation n`: the producer uses n transactional ids in turn (the relay's rotation), so an id's next
 * transaction comes n transactions after its previous one.
 *
 *   bun bench/kafka-client/txn-cycle.ts [--gaps 0,10,20,40,80] [--count 60] [--rotation 1]
 */
import { createAdmin, createTransactionalProducer } from '../../packages/kafka/src/index'
import { stackEnv } from '../../packages/testing/src/index'
import { intArg, stringArg } from '../lib/args'
import { percentile } from '../lib/percentile'
import { createReport, fixed, table } from '../lib/report'

const count = intArg('count', 60, 5, 10_000)
const rotation = intArg('rotation', 1, 1, 16)
const gaps = (stringArg('gaps') ?? '0,10,20,40,80').split(',').map(Number)
if (gaps.some((gap) => !Number.isInteger(gap) || gap < 0)) {
  console.error('--gaps: comma-separated whole numbers of ms, e.g. 0,20,40')
  process.exit(2)
}
const brokers = stackEnv().KAFKA_BROKERS.split(',')
const tag = Date.now().toString(36)
const topic = `bench.txn-cycle.${tag}`
const report = createReport(
  'txn-cycle',
  `bun bench/kafka-client/txn-cycle.ts ${process.argv.slice(2).join(' ')}`,
)

const admin = createAdmin({ brokers, clientId: `bench-txn-cycle-admin-${tag}` })
await admin.connect()
await admin.createTopics([
  { topic, partitions: 6, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } },
])
const producer = createTransactionalProducer({
  brokers,
  clientId: `bench-txn-cycle-${tag}`,
  transactionalId: `bench-txn-cycle-${tag}`,
  rotation,
})
await producer.connect()
// The first transactions of a session pay for connections and metadata: not counted.
for (let i = 0; i < 3 * rotation; i++)
  await producer.sendTransaction([{ topic, key: `warm-${i}`, value: Buffer.alloc(300) }])

const measured: { gap: number; took: number[] }[] = []
report.mark('start')
for (const gap of gaps) {
  const took: number[] = []
  for (let i = 0; i < count; i++) {
    await Bun.sleep(gap)
    const started = performance.now()
    await producer.sendTransaction([{ topic, key: `${gap}-${i}`, value: Buffer.alloc(300) }])
    took.push(performance.now() - started)
  }
  measured.push({ gap, took: took.sort((a, b) => a - b) })
}
report.mark('end')
await producer.disconnect()
await admin.deleteTopics([topic]).catch(() => {})
await admin.disconnect()

// A refused transaction waits librdkafka's 20 ms retry at least: counted against the fastest of the run.
const fastest = Math.min(...measured.map((m) => m.took[0] ?? Number.POSITIVE_INFINITY))
const rows = measured.map(({ gap, took }) => {
  const slowed = took.filter((ms) => ms >= fastest + 18).length
  return [
    gap,
    took.length,
    fixed(percentile(took, 50), 1),
    fixed(percentile(took, 90), 1),
    fixed(percentile(took, 99), 1),
    fixed(took.at(-1) ?? Number.NaN, 1),
    `${slowed} (${fixed((100 * slowed) / took.length, 0)} %)`,
  ]
})
report.section(
  'Transaction begin → commit acknowledged, by pause after the previous commit',
  table(
    [
      'pause ms',
      'transactions',
      'p50 ms',
      'p90 ms',
      'p99 ms',
      'max ms',
      '≥ 18 ms above the fastest of the run',
    ],
    rows,
  ),
)
report.note(
  `Fastest transaction of the run: ${fixed(fastest, 1)} ms; one 18 ms or more above it was, almost always, refused and retried.`,
)
report.print()
process.exit(0)
