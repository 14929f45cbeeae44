/**
 * `bun run bench`: every system benchmark, one after the other (never two at once: they share two cores
 * and one stack), each printing its markdown report; all reports are then concatenated into
 * bench/results/all.md, which is what docs/benchmarks.md quotes.
 *
 *   bun run bench                      stock-post, relay, pipeline, ads (full counts, about 15 minutes)
 *   bun run bench -- --quick           the same with small counts (a smoke run, about 4 minutes)
 *   bun run bench -- --skip ads,relay  leave some out
 *
 * The Kafka client bake-off (`bun run bench:kafka`) is a one-off choice, not a system figure: not included.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { flagArg, stringArg } from './lib/args'
import { formatLoad, load } from './lib/machine'

const quick = flagArg('quick')
const skip = (stringArg('skip') ?? '').split(',').filter(Boolean)

const BENCHES: { name: string; file: string; full: string[]; quick: string[] }[] = [
  {
    name: 'stock-post',
    file: 'stock-post/run.ts',
    full: [
      '--duration',
      '20',
      '--warmup',
      '5',
      '--get-duration',
      '10',
      '--only',
      'bare,stock,nest,stock-smol',
    ],
    quick: ['--duration', '3', '--warmup', '1', '--get-duration', '2'],
  },
  {
    name: 'relay',
    file: 'relay/run.ts',
    full: ['--events', '50000', '--runs', '500x1,1000x1,500x1c4,200x1'],
    quick: ['--events', '2000'],
  },
  {
    name: 'pipeline',
    file: 'pipeline/run.ts',
    // 50/s: below what the ads projection sustains on this machine (see docs/benchmarks.md), so the
    // latency is the pipeline's and not a queue's.
    full: ['--latency-count', '10000', '--rate', '50', '--burst-count', '10000'],
    quick: ['--latency-count', '300', '--rate', '50', '--burst-count', '300', '--delay', '5'],
  },
  {
    name: 'ads',
    file: 'ads/run.ts',
    full: [],
    quick: ['--ads', '5000', '--ingest', '1000', '--duration', '3'],
  },
]

const unknown = skip.filter((s) => !BENCHES.some((b) => b.name === s))
if (unknown.length > 0) {
  console.error(`--skip: unknown ${unknown.join(', ')}; choose from ${BENCHES.map((b) => b.name).join(', ')}`)
  process.exit(2)
}

const outcomes: string[] = []
const reports: string[] = []
for (const bench of BENCHES) {
  if (skip.includes(bench.name)) continue
  const args = quick ? bench.quick : bench.full
  console.log(`\n=== ${bench.name}: bun bench/${bench.file} ${args.join(' ')} (load ${formatLoad(load())})`)
  const started = performance.now()
  const child = Bun.spawn([process.execPath, join(import.meta.dir, bench.file), ...args], {
    stdout: 'inherit',
    stderr: 'inherit',
  })
  const code = await child.exited
  const minutes = (performance.now() - started) / 60_000
  outcomes.push(`${bench.name}: exit ${code} after ${minutes.toFixed(1)} min`)
  const result = join(import.meta.dir, 'results', `${bench.name}.md`)
  if (existsSync(result) && code === 0) reports.push(readFileSync(result, 'utf8'))
}

writeFileSync(join(import.meta.dir, 'results', 'all.md'), reports.join('\n'))
console.log(`\n${outcomes.join('\n')}\nreports: bench/results/all.md`)
process.exit(outcomes.every((o) => o.includes('exit 0 ')) ? 0 : 1)
