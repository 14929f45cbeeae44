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
import { readdirSync, readFileSync } from 'node:fs'
import { intArg } from './lib/args'

const seconds = intArg('seconds', 20, 1, 3_600)
/** Linux reports CPU time in clock ticks of 1/100 s on every platform Bun runs on. */
const TICKS_PER_SECOND = 100

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

/** CPU ticks (user + system) per process id, with the part it belongs to. */
function sample(): Map<string, { ticks: number; part: string }> {
  const seen = new Map<string, { ticks: number; part: string }>()
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
      seen.set(pid, { ticks: Number(fields[11]) + Number(fields[12]), part: partOf(command) })
    } catch {
      // Ended between the listing and the read.
    }
  }
  return seen
}

const before = sample()
const started = performance.now()
await Bun.sleep(seconds * 1_000)
const after = sample()
const elapsed = (performance.now() - started) / 1_000
const byPart = new Map<string, number>()
for (const [pid, { ticks, part }] of after) {
  const used = ticks - (before.get(pid)?.ticks ?? 0)
  byPart.set(part, (byPart.get(part) ?? 0) + used)
}
const share = (ticks: number) => (100 * ticks) / TICKS_PER_SECOND / elapsed
const rows = [...byPart].sort((a, b) => b[1] - a[1]).filter(([, ticks]) => share(ticks) >= 0.5)
const total = [...byPart.values()].reduce((sum, ticks) => sum + ticks, 0)
console.log(
  `CPU over ${elapsed.toFixed(1)} s, as % of one core (this machine has ${navigator.hardwareConcurrency}):`,
)
console.log('| part | % of a core |\n| --- | ---: |')
for (const [part, ticks] of rows) console.log(`| ${part} | ${share(ticks).toFixed(1)} |`)
console.log(`| all processes | ${share(total).toFixed(1)} |`)
