/**
 * Two properties of the module's librdkafka engine that need a clock, not a unit test:
 *
 * 1. Idle CPU: a connected producer and a running group consumer with nothing to do must not spin
 *    (the JS thread sleeps until librdkafka's wake-up byte arrives). Measured with process.cpuUsage()
 *    over `--idle-seconds`.
 * 2. Hand-off latency at a service's rate: records sent one by one at `--rate` per second; for each, the
 *    time from its acknowledgement (it is readable from then on) to its handler call. Also reported:
 *    how often the once-a-second sweep found events a wake-up should have delivered.
 *
 *   bun bench/kafka-client/idle-latency.ts [--idle-seconds 30] [--rate 50] [--seconds 20]
 */
import { loadavg } from 'node:os'
import {
  createAdmin,
  createConsumer,
  createProducer,
  librdkafkaVersion,
} from '../../packages/kafka/src/index'
import { wakeStats } from '../../packages/kafka/src/rdkafka/wake'
import { stackEnv } from '../../packages/testing/src/index'
import { intArg } from '../lib/args'

const idleSeconds = intArg('idle-seconds', 30, 1, 3_600)
const rate = intArg('rate', 50, 1, 100_000)
const seconds = intArg('seconds', 20, 1, 3_600)
const brokers = stackEnv().KAFKA_BROKERS.split(',')
const topic = `bench.idle-latency.${Date.now().toString(36)}`

const admin = createAdmin({ brokers, clientId: 'bench-idle-admin' })
await admin.connect()
await admin.createTopics([
  { topic, partitions: 6, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } },
])
const producer = createProducer({ brokers, clientId: 'bench-idle-producer' })
const ackedAt = new Map<string, number>()
const handledAt = new Map<string, number>()
const consumer = createConsumer({
  brokers,
  clientId: 'bench-idle-consumer',
  groupId: `bench-idle-${Date.now()}`,
  topics: [topic],
  readCommitted: true,
  fromBeginning: true,
})
try {
  await producer.connect()
  await consumer.run(async (m) => {
    handledAt.set(m.value.toString(), performance.now())
  })
  // Let the group settle before measuring idleness.
  await Bun.sleep(5_000)
  const load = loadavg()[0]?.toFixed(1)
  const cpuBefore = process.cpuUsage()
  const wallBefore = performance.now()
  const wakesBefore = { ...wakeStats }
  await Bun.sleep(idleSeconds * 1_000)
  const cpu = process.cpuUsage(cpuBefore)
  const idlePercent = ((cpu.user + cpu.system) / 1_000 / (performance.now() - wallBefore)) * 100
  const idleWakeups = wakeStats.wakeups - wakesBefore.wakeups

  const missedBefore = wakeStats.missedWakeups
  const total = rate * seconds
  const sends: Promise<void>[] = []
  const started = performance.now()
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1_000) / rate
    const wait = due - performance.now()
    if (wait > 0) await Bun.sleep(wait)
    const value = String(i)
    sends.push(
      producer.send([{ topic, key: `vehicle-${i}`, value: Buffer.from(value) }]).then(() => {
        ackedAt.set(value, performance.now())
      }),
    )
  }
  await Promise.all(sends)
  const deadline = Date.now() + 30_000
  while (handledAt.size < total && Date.now() < deadline) await Bun.sleep(50)
  // Negative: the handler ran before the producer's promise resolved (both wait for the same broker).
  const lags = [...ackedAt].map(([v, at]) => (handledAt.get(v) ?? Number.POSITIVE_INFINITY) - at)
  lags.sort((a, b) => a - b)
  const pct = (p: number) =>
    lags[Math.min(lags.length - 1, Math.floor((p / 100) * lags.length))] ?? Number.NaN
  console.log(
    JSON.stringify(
      {
        librdkafka: librdkafkaVersion(),
        loadAverage1mBefore: Number(load),
        loadAverage1mAfter: Number(loadavg()[0]?.toFixed(1)),
        idle: { seconds: idleSeconds, cpuPercent: Number(idlePercent.toFixed(3)), wakeups: idleWakeups },
        handoff: {
          rate,
          records: total,
          handled: handledAt.size,
          p50ms: Number(pct(50).toFixed(2)),
          p99ms: Number(pct(99).toFixed(2)),
          maxMs: Number(pct(100).toFixed(2)),
          sweepsThatFoundEvents: wakeStats.missedWakeups - missedBefore,
        },
      },
      null,
      2,
    ),
  )
} finally {
  await consumer.close()
  await producer.disconnect()
  await admin.deleteTopics([topic])
  await admin.disconnect()
}
