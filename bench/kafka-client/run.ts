/**
 * Kafka client bake-off. Runs every candidate one after another (2 cores: never two
 * at once) against the local 3-broker stack, each on a fresh 6-partition RF 3 topic, and prints the
 * table that goes into docs/kafka-client.md. Raw results are written to bench/kafka-client/results/.
 *
 *   bun run bench:kafka [--only kcat,kcat-group,module] [--messages 100000] [--window 16] [--rate 1000] [--seconds 10] [--repeat 3]
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { cpus, freemem, loadavg, release, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { createAdmin } from '../../packages/kafka/src/index'
import { consumerSettings } from '../../packages/kafka/src/rdkafka/consumer-support'
import { libraryPath } from '../../packages/kafka/src/rdkafka/library'
import { stackEnv } from '../../packages/testing/src/index'
import { KCAT_PRODUCER_GUARANTEES } from '../lib/kcat'
import { type BenchResult, keyOf, payload } from './driver'

const here = import.meta.dir

/**
 * The Node reference (node-rdkafka) stays out of the workspace: installed on first use, and only when it
 * is among the candidates (it builds from source for minutes).
 */
function ensureBenchDependencies(withNodeRdkafka: boolean): void {
  const run = (cmd: string[], cwd: string) => {
    if (Bun.spawnSync(cmd, { cwd, stdout: 'inherit', stderr: 'inherit' }).exitCode !== 0)
      throw new Error(`${cmd.join(' ')} failed in ${cwd}`)
  }
  const nodeRef = join(here, 'node-ref')
  if (withNodeRdkafka && !existsSync(join(nodeRef, 'node_modules', 'node-rdkafka')))
    run(['npm', 'ci'], nodeRef)
  // The bench's own type check needs node-rdkafka's types; without them it checks nothing useful.
  if (withNodeRdkafka) run(['bunx', 'tsc', '-p', here], here)
}
const argv = process.argv.slice(2)
const opt = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? (argv[i + 1] ?? fallback) : fallback
}
const messages = Number(opt('messages', '100000'))
const size = Number(opt('size', '1024'))
const rate = Number(opt('rate', '1000'))
const seconds = Number(opt('seconds', '10'))
const repeat = Number(opt('repeat', '3'))
const only = opt('only', '')
  .split(',')
  .filter((s) => s.length > 0)
ensureBenchDependencies(only.length === 0 || only.includes('node-rdkafka'))

const brokers = stackEnv().KAFKA_BROKERS.split(',')
const runId = new Date().toISOString().replace(/[:.]/g, '-')

type Runner = (topic: string) => Promise<BenchResult>

/**
 * Produce batches in flight at once, for every candidate. kcat streams its whole file with up to
 * librdkafka's queue (100 000 messages) in flight; four batches of 1 000 awaited one by one held the
 * module to 4 000 records per round trip (about 100 ms under load), which measured the window, not
 * the client.
 */
const inFlightBatches = Number(opt('window', '16'))

function candidateArgs(topic: string): string[] {
  return [
    '--window',
    String(inFlightBatches),
    '--brokers',
    brokers.join(','),
    '--topic',
    topic,
    '--messages',
    String(messages),
    '--size',
    String(size),
    '--rate',
    String(rate),
    '--seconds',
    String(seconds),
  ]
}

async function runScript(cmd: string[]): Promise<BenchResult> {
  const child = Bun.spawn(cmd, { stdout: 'pipe', stderr: 'inherit', cwd: here })
  const timer = setTimeout(() => child.kill('SIGKILL'), 10 * 60_000)
  const out = await new Response(child.stdout).text()
  const code = await child.exited
  clearTimeout(timer)
  const line = out.split('\n').find((l) => l.startsWith('RESULT '))
  if (code !== 0 || line === undefined)
    throw new Error(`${cmd.join(' ')} exited ${code}; output: ${out.slice(-2000)}`)
  return JSON.parse(line.slice('RESULT '.length)) as BenchResult
}

/**
 * kcat: librdkafka's own CLI, the near-physical reference. Produce from a file, consume to /dev/null.
 * `kcat` is the system's kcat as it is (its librdkafka, the simple consumer: no group, no commits);
 * `kcat-group` is the same CLI on the module's librdkafka (LD_LIBRARY_PATH) consuming as a group member
 * with the module's consumer settings: what librdkafka itself delivers to a C loop in the module's
 * configuration, so the module's own cost per message is the difference.
 */
async function runKcat(topic: string, group = false): Promise<BenchResult> {
  const file = join('/tmp', `bench-kcat-${runId}.txt`)
  const values = Array.from({ length: 64 }, (_, i) => payload(size, i + 1).toString('latin1'))
  const lines: string[] = []
  for (let i = 0; i < messages; i++) lines.push(`${keyOf(i).toString()}|${values[i % values.length]}`)
  writeFileSync(file, `${lines.join('\n')}\n`)
  const timed = async (args: string[]) => {
    const started = performance.now()
    const child = Bun.spawn(['/usr/bin/time', '-f', 'maxrss_kb=%M', 'kcat', ...args], {
      stdout: 'ignore',
      stderr: 'pipe',
      env: group ? { ...process.env, LD_LIBRARY_PATH: dirname(libraryPath()) } : process.env,
    })
    const err = await new Response(child.stderr).text()
    const code = await child.exited
    const secs = (performance.now() - started) / 1000
    if (code !== 0) throw new Error(`kcat ${args.join(' ')} exited ${code}: ${err.slice(-1000)}`)
    const rss = Number(/maxrss_kb=(\d+)/.exec(err)?.[1] ?? 'NaN') / 1024
    return { secs, rss }
  }
  const common = ['-b', brokers.join(','), '-t', topic, '-q']
  const produce = await timed(['-P', ...common, '-K', '|', ...KCAT_PRODUCER_GUARANTEES, '-l', file])
  const consume = await timed(
    group
      ? [
          '-G',
          `bench-kcat-group-${runId}-${topic}`,
          '-q',
          '-c',
          String(messages),
          // The module's own consumer configuration, every setting of it.
          ...Object.entries(
            consumerSettings(
              {
                brokers,
                clientId: 'bench-kcat-group',
                groupId: `bench-kcat-group-${runId}-${topic}`,
                topics: [topic],
                readCommitted: true,
                fromBeginning: true,
              },
              10_000,
            ),
          ).flatMap(([name, value]) => ['-X', `${name}=${value}`]),
          '-f',
          '%o\n',
          topic,
        ]
      : [
          '-C',
          ...common,
          '-o',
          'beginning',
          '-c',
          String(messages),
          '-X',
          'isolation.level=read_committed',
          '-f',
          '%o\n',
        ],
  )
  return {
    candidate: group
      ? "kcat on the module's librdkafka, group consumer with its settings"
      : 'kcat (librdkafka CLI)',
    runtime: 'native',
    produceMsgsPerSec: Math.round(messages / produce.secs),
    produceSeconds: Math.round(produce.secs * 100) / 100,
    consumeMsgsPerSec: Math.round(messages / consume.secs),
    consumeSecondsFromStart: Math.round(consume.secs * 100) / 100,
    consumeSecondsFromFirst: Number.NaN,
    latencyP50Ms: Number.NaN,
    latencyP99Ms: Number.NaN,
    latencyMaxMs: Number.NaN,
    latencySent: 0,
    latencyTargetRate: rate,
    peakRssMiB: Math.round(Math.max(produce.rss, consume.rss)),
  }
}

async function runNodeRdkafka(topic: string): Promise<BenchResult> {
  const bundle = join(here, 'node-ref', 'dist', 'rdkafka.mjs')
  const build = Bun.spawnSync([
    'bun',
    'build',
    join(here, 'node-ref', 'rdkafka.ts'),
    '--target=node',
    '--external',
    'node-rdkafka',
    '--outfile',
    bundle,
  ])
  if (build.exitCode !== 0)
    throw new Error(`bundling node-rdkafka candidate failed: ${build.stderr.toString()}`)
  return runScript(['/usr/bin/node', bundle, ...candidateArgs(topic)])
}

const candidates: Record<string, Runner> = {
  kcat: (t) => runKcat(t),
  'kcat-group': (t) => runKcat(t, true),
  'node-rdkafka': runNodeRdkafka,
  module: (t) => runScript(['bun', join(here, 'candidates', 'module.ts'), ...candidateArgs(t)]),
  ffi: (t) => runScript(['bun', join(here, 'candidates', 'ffi.ts'), ...candidateArgs(t)]),
}

const selected = Object.keys(candidates).filter((c) => (only.length === 0 ? c !== 'ffi' : only.includes(c)))
const admin = createAdmin({ brokers, clientId: `bench-admin-${process.pid}` })
await admin.connect()
const runs: BenchResult[] = []
// Rounds interleave the candidates (a, b, c, a, b, c, ...), so a burst of load from elsewhere on the
// shared machine spreads over all of them instead of sinking one; the table shows medians.
for (let round = 1; round <= repeat; round++) {
  for (const name of selected) {
    const topic = `bench.kafka-client.${name}.${runId}.r${round}`
    await admin.createTopics([
      { topic, partitions: 6, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } },
    ])
    // Leaders must be elected before the clock starts.
    for (let i = 0; i < 100; i++) {
      const [t] = await admin.describeTopics([topic])
      if (t?.partitions.length === 6 && t.partitions.every((p) => p.leader >= 0)) break
      await Bun.sleep(100)
    }
    console.error(`\n=== round ${round}/${repeat}: ${name} on ${topic}`)
    // The machine is shared: the load around each run goes into the results, to read the numbers by.
    const loadBefore = loadavg()[0] ?? Number.NaN
    try {
      const result = await candidates[name]?.(topic)
      if (result !== undefined) {
        runs.push({ ...result, key: name, round, loadBefore, loadAfter: loadavg()[0] ?? Number.NaN })
      }
      console.error(JSON.stringify(result))
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      console.error(`${name} failed: ${message}`)
      runs.push({ candidate: name, key: name, round, runtime: '-', error: message } as BenchResult)
    } finally {
      await admin.deleteTopics([topic]).catch(() => {})
    }
  }
}
await admin.disconnect()

function median(values: number[]): number {
  const v = values.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b)
  if (v.length === 0) return Number.NaN
  const mid = Math.floor(v.length / 2)
  return v.length % 2 === 1 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2
}
const fmt = (n: number | undefined) =>
  n === undefined || Number.isNaN(n)
    ? 'n/a'
    : Math.round(n * 10) / 10 >= 100
      ? Math.round(n).toLocaleString('en-US')
      : String(Math.round(n * 10) / 10)
const range = (values: number[]) => {
  const v = values.filter((x) => !Number.isNaN(x))
  return v.length < 2 ? '' : ` (${fmt(Math.min(...v))}–${fmt(Math.max(...v))})`
}
const rows = selected.map((name) => {
  const ok = runs.filter((r) => r.key === name && r.error === undefined)
  const failed = runs.filter((r) => r.key === name && r.error !== undefined)
  if (ok.length === 0) return `| ${name} | - | failed: ${failed[0]?.error?.slice(0, 120)} | | | | | |`
  const col = (pick: (r: BenchResult) => number, withRange = true) =>
    `${fmt(median(ok.map(pick)))}${withRange ? range(ok.map(pick)) : ''}`
  const first = ok[0] as BenchResult
  return `| ${first.candidate} | ${first.runtime} | ${col((r) => r.produceMsgsPerSec)} | ${col((r) => r.consumeMsgsPerSec)} | ${col((r) => r.latencyP50Ms, false)} | ${col((r) => r.latencyP99Ms, false)} | ${col((r) => r.peakRssMiB, false)} | ${ok.length}/${ok.length + failed.length} |`
})
const table = [
  `| client | runtime | produce msg/s | consume msg/s | p50 ms @ ${rate}/s | p99 ms @ ${rate}/s | peak RSS MiB | runs ok |`,
  '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows,
].join('\n')
const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memGiB: Math.round(totalmem() / 2 ** 30),
  freeGiBAtStart: Math.round(freemem() / 2 ** 30),
  kernel: release(),
  bun: Bun.version,
  loadDuringRuns: `${fmt(Math.min(...runs.map((r) => r.loadBefore ?? Number.NaN).filter((x) => !Number.isNaN(x))))}–${fmt(Math.max(...runs.map((r) => r.loadAfter ?? Number.NaN).filter((x) => !Number.isNaN(x))))}`,
}
mkdirSync(join(here, 'results'), { recursive: true })
writeFileSync(
  join(here, 'results', `${runId}.json`),
  `${JSON.stringify({ runId, messages, size, window: inFlightBatches, rate, seconds, repeat, brokers, machine, runs }, null, 2)}\n`,
)
console.log(table)
console.log(
  `\nmachine: ${JSON.stringify(machine)}; ${messages} x ${size} B; latency at ${rate}/s for ${seconds} s`,
)
