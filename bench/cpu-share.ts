/**
 * Where the machine's CPU goes while something else runs: samples every process's CPU time from /proc
 * at the start and the end of a window and prints each part of the system's share of a core, summed
 * over its processes (threads included). Run it beside a benchmark, e.g.
 *
 *   bun run bench:pipeline -- --only latency --latency-count 6000 --rate 200 &
 *   sleep 25 && bun bench/cpu-share.ts --seconds 20
 *
 * Processes that start or end inside the window count only for the part of it they lived.
 */
import { intArg } from './lib/args'
import { cpuSeconds, processes } from './lib/machine'

const seconds = intArg('seconds', 20, 1, 3_600)

/** What a command line belongs to; the first match wins (the brokers' class path names ZooKeeper too). */
const PARTS: [RegExp, (match: RegExpMatchArray) => string][] = [
  [/kafka-(\d)\/server\.properties/, (m) => `kafka-${m[1]}`],
  [/QuorumPeerMain/, () => 'zookeeper (3)'],
  [/schema-registry|SchemaRegistryMain/, () => 'schema registry (3)'],
  [/^\S*postgres/, () => 'postgres'],
  [/ferretdb/, () => 'ferretdb'],
  [/nginx/, () => 'nginx'],
  [/-m estimator|estimator\/\.venv/, () => 'price-estimate (all)'],
  [/packages\/stock\//, () => 'vehicles-stock'],
  [/packages\/ads\//, () => 'vehicles-ads'],
  [/bench\//, () => 'the benchmark'],
]

function partOf(command: string): string {
  for (const [pattern, name] of PARTS) {
    const match = command.match(pattern)
    if (match !== null) return name(match)
  }
  return 'other'
}

/** CPU seconds (user + system) per process id, with the part it belongs to. */
function sample(): Map<number, { cpu: number; part: string }> {
  const seen = new Map<number, { cpu: number; part: string }>()
  for (const { pid, command } of processes()) {
    const cpu = cpuSeconds(pid)
    if (cpu !== undefined) seen.set(pid, { cpu, part: partOf(command) })
  }
  return seen
}

const before = sample()
const started = performance.now()
await Bun.sleep(seconds * 1_000)
const after = sample()
const elapsed = (performance.now() - started) / 1_000
const byPart = new Map<string, number>()
for (const [pid, { cpu, part }] of after) {
  const used = cpu - (before.get(pid)?.cpu ?? 0)
  byPart.set(part, (byPart.get(part) ?? 0) + used)
}
const share = (cpu: number) => (100 * cpu) / elapsed
const rows = [...byPart].sort((a, b) => b[1] - a[1]).filter(([, cpu]) => share(cpu) >= 0.5)
const total = [...byPart.values()].reduce((sum, cpu) => sum + cpu, 0)
console.log(
  `CPU over ${elapsed.toFixed(1)} s, as % of one core (this machine has ${navigator.hardwareConcurrency}):`,
)
console.log('| part | % of a core |\n| --- | ---: |')
for (const [part, cpu] of rows) console.log(`| ${part} | ${share(cpu).toFixed(1)} |`)
console.log(`| all processes | ${share(total).toFixed(1)} |`)
