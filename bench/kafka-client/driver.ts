/**
 * The bake-off's measuring loop, the same for every client: each candidate only says how to send a
 * batch, send one record, and consume N records. Runs in the candidate's own process, so RSS is the
 * client's; prints one `RESULT {json}` line for run.ts. Kept free of Bun APIs: it is also bundled for
 * Node (node-rdkafka does not load under Bun).
 */
import { percentile } from '../lib/percentile'

export interface BenchRecord {
  key: Buffer
  value: Buffer
}

export interface Candidate {
  name: string
  /** Resolves when every record is acknowledged (acks=all, idempotent). */
  produceBatch(records: BenchRecord[]): Promise<void>
  /** One record, resolved on its acknowledgement. */
  sendOne(record: BenchRecord): Promise<void>
  /** Reads `count` records of `topic` from the beginning (read_committed); returns when all arrived. */
  consume(topic: string, count: number, onMessage: () => void): Promise<void>
  close(): Promise<void>
}

export interface BenchArgs {
  brokers: string[]
  topic: string
  messages: number
  size: number
  batch: number
  window: number
  rate: number
  seconds: number
}

export interface BenchResult {
  candidate: string
  runtime: string
  produceMsgsPerSec: number
  produceSeconds: number
  consumeMsgsPerSec: number
  consumeSecondsFromStart: number
  consumeSecondsFromFirst: number
  latencyP50Ms: number
  latencyP99Ms: number
  latencyMaxMs: number
  latencySent: number
  latencyTargetRate: number
  peakRssMiB: number
  /** 1-minute load average of the (shared) machine before and after this candidate ran. */
  loadBefore?: number
  loadAfter?: number
  /** Set by run.ts: which candidate and which round produced this result. */
  key?: string
  round?: number
  error?: string
}

export function parseArgs(argv: string[]): BenchArgs {
  const get = (name: string, fallback?: string): string => {
    const i = argv.indexOf(`--${name}`)
    const value = i >= 0 ? argv[i + 1] : fallback
    if (value === undefined) throw new Error(`missing --${name}`)
    return value
  }
  return {
    brokers: get('brokers').split(','),
    topic: get('topic'),
    messages: Number(get('messages', '100000')),
    size: Number(get('size', '1024')),
    batch: Number(get('batch', '1000')),
    window: Number(get('window', '4')),
    rate: Number(get('rate', '1000')),
    seconds: Number(get('seconds', '10')),
  }
}

/** 1 KB of incompressible-looking bytes (no compression is configured anyway). */
export function payload(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size)
  let x = seed * 2654435761
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    b[i] = 33 + (x % 94)
  }
  return b
}

export function keyOf(i: number): Buffer {
  // UUID-shaped keys, like the system's vehicle ids, spread over all partitions by murmur2.
  const hex = (i * 2654435761 + 0x9e3779b9).toString(16).padStart(12, '0').slice(-12)
  return Buffer.from(`00000000-0000-4000-8000-${hex}`)
}

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits

export async function runBench(candidate: Candidate, args: BenchArgs, runtime: string): Promise<BenchResult> {
  let peakRss = process.memoryUsage.rss()
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss())
  }, 50)
  const log = (m: string) => process.stderr.write(`[${candidate.name}] ${m}\n`)
  const values = Array.from({ length: 64 }, (_, i) => payload(args.size, i + 1))
  const recordAt = (i: number): BenchRecord => ({ key: keyOf(i), value: values[i % values.length] as Buffer })

  // 1. Throughput: batches of `batch` records, `window` batches in flight.
  log(`produce ${args.messages} x ${args.size} B, batch ${args.batch}, window ${args.window}`)
  const produceStart = performance.now()
  let next = 0
  const lanes = Array.from({ length: args.window }, async () => {
    while (next < args.messages) {
      const from = next
      const to = Math.min(args.messages, from + args.batch)
      next = to
      const records: BenchRecord[] = []
      for (let i = from; i < to; i++) records.push(recordAt(i))
      await candidate.produceBatch(records)
    }
  })
  await Promise.all(lanes)
  const produceSeconds = (performance.now() - produceStart) / 1000

  // 2. Consume everything just produced, from the beginning, read_committed.
  log('consume')
  const consumeStart = performance.now()
  let first = 0
  let received = 0
  await candidate.consume(args.topic, args.messages, () => {
    if (received === 0) first = performance.now()
    received++
  })
  const consumeEnd = performance.now()

  // 3. Latency at a fixed moderate rate: every record its own send, awaited on its own.
  log(`latency ${args.rate}/s for ${args.seconds} s`)
  const latencies: number[] = []
  const total = args.rate * args.seconds
  const latencyStart = performance.now()
  const pending: Promise<void>[] = []
  let sent = 0
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - latencyStart) / 1000) * args.rate))
      while (sent < due) {
        const i = args.messages + sent
        const t0 = performance.now()
        pending.push(candidate.sendOne(recordAt(i)).then(() => void latencies.push(performance.now() - t0)))
        sent++
      }
      if (sent >= total) {
        clearInterval(tick)
        resolve()
      }
    }, 5)
  })
  await Promise.all(pending)
  latencies.sort((a, b) => a - b)

  // Closing is not measured; a client that hangs in close must not lose the figures already taken.
  log('close')
  const closed = await Promise.race([
    candidate.close().then(() => true),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 15_000)),
  ])
  if (!closed) log('close did not finish within 15 s')
  clearInterval(sampler)
  peakRss = Math.max(peakRss, process.memoryUsage.rss())
  return {
    candidate: candidate.name,
    runtime,
    produceMsgsPerSec: Math.round(args.messages / produceSeconds),
    produceSeconds: round(produceSeconds, 2),
    consumeMsgsPerSec: Math.round(args.messages / ((consumeEnd - first) / 1000)),
    consumeSecondsFromStart: round((consumeEnd - consumeStart) / 1000, 2),
    consumeSecondsFromFirst: round((consumeEnd - first) / 1000, 2),
    latencyP50Ms: round(percentile(latencies, 50), 2),
    latencyP99Ms: round(percentile(latencies, 99), 2),
    latencyMaxMs: round(latencies[latencies.length - 1] ?? Number.NaN, 2),
    latencySent: latencies.length,
    latencyTargetRate: args.rate,
    peakRssMiB: round(peakRss / 1024 / 1024, 0),
  }
}

/** Entry helper for candidate scripts: run, print the RESULT line, exit. */
export async function main(build: (args: BenchArgs) => Promise<Candidate>, runtime: string): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  try {
    const candidate = await build(args)
    const result = await runBench(candidate, args, runtime)
    process.stdout.write(`RESULT ${JSON.stringify(result)}\n`)
    process.exit(0)
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
    process.exit(1)
  }
}
