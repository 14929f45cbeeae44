/**
 * Leak test of the module's librdkafka engine: `--records` (default 1 000 000) records produced and
 * consumed through @vehicles/kafka in one process, RSS sampled every second. Native memory (messages,
 * events, partition lists) that is not freed on some path shows up as RSS that keeps growing; the
 * verdict is that after the warm-up (the first `--warmup` share of the records consumed), cut into
 * `--windows` consecutive windows, the median RSS of every window lies within ±10 % of the median of
 * those window medians (each sample taken after a full GC). Exits 1 otherwise. Long (minutes): not part of
 * `bun run test`; run with `bun run bench:kafka-leak` against the local stack.
 *
 *   bun bench/kafka-client/leak.ts [--records 1000000] [--size 256] [--batch 1000] [--warmup 0.2] [--windows 6]
 *     [--ahead 20000]
 */
import { loadavg } from 'node:os'
import {
  createAdmin,
  createConsumer,
  createProducer,
  librdkafkaVersion,
} from '../../packages/kafka/src/index'
import { stackEnv } from '../../packages/testing/src/index'
import { intArg, numberArg } from '../lib/args'

const records = intArg('records', 1_000_000, 1_000, 100_000_000)
const size = intArg('size', 256, 1, 1_048_576)
const batch = intArg('batch', 1_000, 1, 100_000)
const warmup = numberArg('warmup', 0.2, 0, 0.9)
const ahead = intArg('ahead', 20_000, 1, 10_000_000)
const brokers = stackEnv().KAFKA_BROKERS.split(',')
const topic = `bench.leak.${Date.now().toString(36)}`
const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10

const admin = createAdmin({ brokers, clientId: 'bench-leak-admin' })
await admin.connect()
await admin.createTopics([
  { topic, partitions: 6, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } },
])
const producer = createProducer({ brokers, clientId: 'bench-leak-producer' })
const consumer = createConsumer({
  brokers,
  clientId: 'bench-leak-consumer',
  groupId: `bench-leak-${Date.now()}`,
  topics: [topic],
  readCommitted: true,
  fromBeginning: true,
})
let consumed = 0
const samples: { at: number; consumed: number; rssMiB: number }[] = []
const started = performance.now()
// A full collection before each sample: garbage the JS heap has not collected yet is not a leak, and
// without it RSS swings by ±20 % with the collector's rhythm (measured). What is still allocated after
// it, native memory above all, is what the verdict is about.
const sampler = setInterval(() => {
  Bun.gc(true)
  samples.push({
    at: Math.round(performance.now() - started),
    consumed,
    rssMiB: mib(process.memoryUsage.rss()),
  })
}, 1_000)
const loadBefore = loadavg()[0]
try {
  await producer.connect()
  await consumer.runBatches(async (b) => {
    consumed += b.messages.length
  })
  const value = Buffer.alloc(size, 7)
  // Four batches in flight, as a busy relay would have.
  const inFlight = new Set<Promise<unknown>>()
  for (let sent = 0; sent < records; sent += batch) {
    // One steady regime from start to end: the producer stays at most `--ahead` records ahead of the
    // consumer. Unpaced, it finished long before the consumer, and RSS had two levels (while both
    // ran, with librdkafka's send queue full, and after) that read as a trend without being a leak.
    while (sent - consumed > ahead) await Bun.sleep(5)
    const n = Math.min(batch, records - sent)
    const send = producer.send(
      Array.from({ length: n }, (_, i) => ({ topic, key: `vehicle-${sent + i}`, value })),
    )
    inFlight.add(send)
    void send.finally(() => inFlight.delete(send))
    if (inFlight.size >= 4) await Promise.race(inFlight)
  }
  await Promise.all(inFlight)
  const deadline = Date.now() + 300_000
  while (consumed < records && Date.now() < deadline) await Bun.sleep(200)
} finally {
  clearInterval(sampler)
  await consumer.close()
  await producer.disconnect()
  await admin.deleteTopics([topic])
  await admin.disconnect()
}

const steady = samples.filter((s) => s.consumed >= records * warmup).map((s) => s.rssMiB)
const medianOf = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN
const sorted = [...steady].sort((a, b) => a - b)
const median = medianOf(steady)
const [low, high] = [sorted[0] ?? Number.NaN, sorted[sorted.length - 1] ?? Number.NaN]
// The verdict compares windows, not single samples: a one-second sample catches whatever is in flight
// natively at that instant (four produce batches, librdkafka's 8 MiB prefetch, a block of consumed
// values), which no collection can shrink and which comes and goes; a leak is a level that rises and
// stays. So the samples after warm-up are cut into `--windows` consecutive windows of equal length,
// and every window's median must lie within ±10 % of the median of all of them.
const windowCount = intArg('windows', 6, 2, 100)
const windowSamples = Math.floor(steady.length / windowCount)
const windows: number[] = []
for (let i = 0; windowSamples >= 2 && i < windowCount; i++)
  windows.push(medianOf(steady.slice(i * windowSamples, (i + 1) * windowSamples)))
const overall = medianOf(windows)
const windowBand = {
  windows: windows.length,
  samplesPerWindow: windowSamples,
  median: overall,
  min: Math.min(...windows),
  max: Math.max(...windows),
  medians: windows,
}
// Growth, the sign of a leak: the last third of the samples against the first third.
const third = Math.max(1, Math.floor(steady.length / 3))
const trend = {
  firstThirdMedian: medianOf(steady.slice(0, third)),
  lastThirdMedian: medianOf(steady.slice(-third)),
}
const flat =
  consumed >= records &&
  windows.length === windowCount &&
  windowBand.max <= overall * 1.1 &&
  windowBand.min >= overall * 0.9
console.log(
  JSON.stringify(
    {
      librdkafka: librdkafkaVersion(),
      records,
      consumed,
      seconds: Math.round((performance.now() - started) / 1000),
      loadAverage1m: { before: loadBefore, after: loadavg()[0] },
      rssMiBAfterWarmup: { samples: steady.length, min: low, median, max: high },
      windowMediansMiB: windowBand,
      trend,
      peakRssMiB: Math.max(...samples.map((s) => s.rssMiB)),
      verdict: flat
        ? 'flat: every window median after warm-up within ±10 % of their median'
        : 'NOT flat (or not every record consumed)',
      timeline: samples.filter((_, i) => i % 10 === 0),
    },
    null,
    2,
  ),
)
process.exit(flat ? 0 : 1)
