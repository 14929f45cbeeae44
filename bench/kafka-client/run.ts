/**
 * Kafka client bake-off (issue 3, part 5). Runs every candidate one after another (2 cores: never two
 * at once) against the local 3-broker stack, each on a fresh 6-partition RF 3 topic, and prints the
 * table that goes into docs/kafka-client.md. Raw results are written to bench/kafka-client/results/.
 *
 *   bun run bench:kafka [--only kcat,platformatic] [--messages 100000] [--rate 1000] [--seconds 10]
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, freemem, loadavg, release, totalmem } from 'node:os'
import { join } from 'node:path'
import { createAdmin } from '../../packages/kafka/src/index'
import { stackEnv } from '../../packages/testing/src/index'
import { type BenchResult, keyOf, payload } from './driver'

const here = import.meta.dir
const argv = process.argv.slice(2)
const opt = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? (argv[i + 1] ?? fallback) : fallback
}
const messages = Number(opt('messages', '100000'))
const size = Number(opt('size', '1024'))
const rate = Number(opt('rate', '1000'))
const seconds = Number(opt('seconds', '10'))
const only = opt('only', '')
  .split(',')
  .filter((s) => s.length > 0)

const brokers = stackEnv().KAFKA_BROKERS.split(',')
const runId = new Date().toISOString().replace(/[:.]/g, '-')

type Runner = (topic: string) => Promise<BenchResult>

function candidateArgs(topic: string): string[] {
  return [
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

/** kcat: librdkafka's own CLI, the near-physical reference. Produce from a file, consume to /dev/null. */
async function runKcat(topic: string): Promise<BenchResult> {
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
    })
    const err = await new Response(child.stderr).text()
    const code = await child.exited
    const secs = (performance.now() - started) / 1000
    if (code !== 0) throw new Error(`kcat ${args.join(' ')} exited ${code}: ${err.slice(-1000)}`)
    const rss = Number(/maxrss_kb=(\d+)/.exec(err)?.[1] ?? 'NaN') / 1024
    return { secs, rss }
  }
  const common = ['-b', brokers.join(','), '-t', topic, '-q']
  const produce = await timed([
    '-P',
    ...common,
    '-K',
    '|',
    '-X',
    'acks=all',
    '-X',
    'enable.idempotence=true',
    '-X',
    'partitioner=murmur2_random',
    '-l',
    file,
  ])
  const consume = await timed([
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
  ])
  return {
    candidate: 'kcat (librdkafka CLI)',
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
  kcat: runKcat,
  'node-rdkafka': runNodeRdkafka,
  platformatic: (t) => runScript(['bun', join(here, 'candidates', 'platformatic.ts'), ...candidateArgs(t)]),
  kafkajs: (t) => runScript(['bun', join(here, 'candidates', 'kafkajs.ts'), ...candidateArgs(t)]),
  module: (t) => runScript(['bun', join(here, 'candidates', 'module.ts'), ...candidateArgs(t)]),
  ffi: (t) => runScript(['bun', join(here, 'candidates', 'ffi.ts'), ...candidateArgs(t)]),
}

const selected = Object.keys(candidates).filter((c) => (only.length === 0 ? c !== 'ffi' : only.includes(c)))
const admin = createAdmin({ brokers, clientId: `bench-admin-${process.pid}` })
await admin.connect()
const results: BenchResult[] = []
for (const name of selected) {
  const topic = `bench.kafka-client.${name}.${runId}`
  await admin.createTopics([
    { topic, partitions: 6, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } },
  ])
  // Leaders must be elected before the clock starts.
  for (let i = 0; i < 100; i++) {
    const [t] = await admin.describeTopics([topic])
    if (t?.partitions.length === 6 && t.partitions.every((p) => p.leader >= 0)) break
    await Bun.sleep(100)
  }
  console.error(`\n=== ${name} on ${topic}`)
  // The machine is shared: the load around each run goes into the results, to read the numbers by.
  const loadBefore = loadavg()[0] ?? Number.NaN
  try {
    const result = await candidates[name]?.(topic)
    if (result !== undefined) results.push({ ...result, loadBefore, loadAfter: loadavg()[0] ?? Number.NaN })
    console.error(JSON.stringify(result))
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    console.error(`${name} failed: ${message}`)
    results.push({ candidate: name, runtime: '-', error: message } as BenchResult)
  } finally {
    await admin.deleteTopics([topic]).catch(() => {})
  }
}
await admin.disconnect()

const fmt = (n: number | undefined) =>
  n === undefined || Number.isNaN(n) ? 'n/a' : n.toLocaleString('en-US')
const table = [
  '| client | runtime | produce msg/s | consume msg/s | p50 ms @ rate | p99 ms @ rate | peak RSS MiB | load 1 min before → after |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |',
  ...results.map((r) =>
    r.error !== undefined
      ? `| ${r.candidate} | - | failed: ${r.error.slice(0, 120)} | | | | | |`
      : `| ${r.candidate} | ${r.runtime} | ${fmt(r.produceMsgsPerSec)} | ${fmt(r.consumeMsgsPerSec)} | ${fmt(r.latencyP50Ms)} | ${fmt(r.latencyP99Ms)} | ${fmt(r.peakRssMiB)} | ${r.loadBefore?.toFixed(1)} → ${r.loadAfter?.toFixed(1)} |`,
  ),
].join('\n')
const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memGiB: Math.round(totalmem() / 2 ** 30),
  freeGiBAtStart: Math.round(freemem() / 2 ** 30),
  kernel: release(),
  bun: Bun.version,
}
mkdirSync(join(here, 'results'), { recursive: true })
writeFileSync(
  join(here, 'results', `${runId}.json`),
  `${JSON.stringify({ runId, messages, size, rate, seconds, brokers, machine, results }, null, 2)}\n`,
)
console.log(table)
console.log(
  `\nmachine: ${JSON.stringify(machine)}; ${messages} x ${size} B; latency at ${rate}/s for ${seconds} s`,
)
