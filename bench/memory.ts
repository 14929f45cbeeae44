/**
 * What the Bun services' memory is made of: the resident set of a fresh Bun process after each step of
 * loading a service's dependencies (cumulative, one process per step, median of `--repeat` processes,
 * after full collections 500 ms apart), then the real services started by the system harness and left idle, then
 * (`--rate N`) the same services under N vehicles/s of POSTs for `--seconds`. The service's own
 * figures under the pipeline bench's load are in docs/benchmarks.md; this says where the floor is.
 *
 * bun run bench:memory -- [--repeat 3] [--idle-seconds 10] [--rate 50] [--seconds 30]
 */
import { join } from 'node:path'
import { startSystem } from '../infra/system/system'
import { intArg } from './lib/args'
import { type RssStats, sampleRss } from './lib/machine'
import { openLoop } from './lib/open-loop'
import { median } from './lib/percentile'
import { createReport, fixed, table } from './lib/report'
import { post, statusCounts } from './pipeline/common'

const REPEAT = intArg('repeat', 3, 1, 9)
const IDLE_SECONDS = intArg('idle-seconds', 10, 1, 600)
const RATE = intArg('rate', 50, 0, 1_000)
const SECONDS = intArg('seconds', 30, 1, 600)
const root = join(import.meta.dir, '..')

interface Step {
  label: string
  /** Statements run in the step's process (cumulative: every earlier step's too). */
  code: string
}

const load = (specifier: string) => `await import(${JSON.stringify(specifier)})`
const driverDependency = (name: string) =>
  `await import(Bun.resolveSync(${JSON.stringify(name)}, Bun.resolveSync('mongodb', process.cwd())))`
const KAFKA = `(await import('@vehicles/kafka')).librdkafkaVersion()`
const common = (framework: Step[]): Step[] => [
  { label: 'Bun, nothing imported', code: '' },
  ...framework,
  { label: '+ elysia', code: load('elysia') },
  { label: '+ @vehicles/contracts (TypeBox, Ajv, the schemas)', code: load('@vehicles/contracts') },
  { label: '+ @vehicles/platform (prom-client, OpenAPI plugin, logger)', code: load('@vehicles/platform') },
  { label: '+ @vehicles/kafka, librdkafka loaded (dlopen)', code: KAFKA },
]
const SERVICES: Record<'stock' | 'ads', Step[]> = {
  stock: [
    ...common([
      { label: '+ postgres.js', code: load('postgres') },
      { label: '+ drizzle-orm', code: load('drizzle-orm/postgres-js') },
    ]),
    {
      label: "+ the service's own modules (routes, outbox relay, migrations)",
      code: ['./src/app.ts', './src/outbox/runtime.ts', './src/db/database.ts', './src/db/migrate.ts']
        .map(load)
        .join(';'),
    },
  ],
  ads: [
    ...common([
      // The driver's own dependencies, resolved from where the driver is installed.
      { label: '+ bson', code: driverDependency('bson') },
      {
        label: "+ @mongodb-js/saslprep (required at load by the driver's SCRAM authentication)",
        code: driverDependency('@mongodb-js/saslprep'),
      },
      { label: '+ the rest of the mongodb driver', code: load('mongodb') },
    ]),
    {
      label: "+ the service's own modules (routes, projection, list index)",
      code: ['./src/app.ts', './src/projection/start.ts', './src/ads/indexed-ads.ts', './src/db.ts']
        .map(load)
        .join(';'),
    },
  ],
}

/** POSTs `count` vehicles at `rate` per second (open loop); every one must be created. */
async function postAtRate(stockUrl: string, rate: number, count: number): Promise<void> {
  const posted = await openLoop(count, rate, () => post(stockUrl))
  if (posted.some((p) => p.status !== 201))
    throw new Error(`not every POST was created: ${statusCounts(posted)}`)
}

/**
 * RSS (MiB) of a fresh Bun that ran `code` in `cwd`, after four full collections 500 ms apart: with one
 * collection and a short pause, what the collector freed was not yet given back, and the same step
 * measured up to 15 MiB apart from one process to the next.
 */
function rssAfter(cwd: string, code: string): number {
  const script = `${code};for(let i=0;i<4;i++){Bun.gc(true);await Bun.sleep(500)}console.log(process.memoryUsage().rss)`
  const run = Bun.spawnSync([process.execPath, '-e', script], { cwd, stdout: 'pipe', stderr: 'pipe' })
  if (run.exitCode !== 0) throw new Error(`step failed in ${cwd}: ${code}\n${run.stderr.toString()}`)
  return Number(run.stdout.toString().trim().split('\n').at(-1)) / 2 ** 20
}

function importTable(): { rows: (string | number)[][]; last: Record<'stock' | 'ads', number> } {
  const rows: (string | number)[][] = []
  const last = { stock: NaN, ads: NaN }
  for (const service of ['stock', 'ads'] as const) {
    const cwd = join(root, 'packages', service)
    let previous: number | undefined
    const code: string[] = []
    for (const step of SERVICES[service]) {
      code.push(step.code)
      const rss = median(Array.from({ length: REPEAT }, () => rssAfter(cwd, code.join(';'))))
      const delta =
        previous === undefined ? '' : `${rss >= previous ? '+' : '−'}${fixed(Math.abs(rss - previous), 1)}`
      rows.push([service, step.label, fixed(rss, 1), delta])
      previous = rss
      last[service] = rss
    }
  }
  return { rows, last }
}

/** RSS of each Bun service, sampled every 250 ms for `seconds`. */
async function sampled(pids: Record<'stock' | 'ads', number | undefined>, seconds: number) {
  const sampler = sampleRss(() => pids)
  await Bun.sleep(seconds * 1000)
  const stats = sampler.stop()
  const of = (name: 'stock' | 'ads'): Pick<RssStats, 'medianMiB' | 'peakMiB'> =>
    stats[name] ?? { medianMiB: Number.NaN, peakMiB: Number.NaN }
  return { stock: of('stock'), ads: of('ads') }
}

const args = process.argv.slice(2)
const report = createReport('memory', `bun run bench:memory${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`)
report.mark('imports: start')
const imports = importTable()
report.mark('imports: end')
report.section(
  `Loading, one step at a time (fresh Bun per step, median of ${REPEAT}, after 4 full collections 500 ms apart; MiB)`,
  table(['service', 'step (cumulative)', 'RSS MiB', 'step adds'], imports.rows),
)

const system = await startSystem({ purpose: 'bench: memory', estimateDelaySeconds: 0 })
try {
  const pids = { stock: system.pid('stock'), ads: system.pid('ads') }
  report.mark('idle: start')
  const idle = await sampled(pids, IDLE_SECONDS)
  report.mark('idle: end')
  const rows: (string | number)[][] = (['stock', 'ads'] as const).map((name) => [
    name,
    fixed(imports.last[name], 1),
    fixed(idle[name].medianMiB, 1),
    fixed(idle[name].peakMiB, 1),
  ])
  const header = ['service', 'modules loaded MiB', `running, idle ${IDLE_SECONDS} s: median`, 'peak']
  if (RATE > 0) {
    const posting = postAtRate(system.stockUrl, RATE, RATE * SECONDS)
    const loaded = await sampled(pids, SECONDS)
    await posting
    report.mark('load: end')
    rows.forEach((row, i) => {
      const name = i === 0 ? 'stock' : 'ads'
      row.push(fixed(loaded[name].medianMiB, 1), fixed(loaded[name].peakMiB, 1))
    })
    header.push(`${RATE} POST/s for ${SECONDS} s: median`, 'peak')
  }
  report.section(
    'The running services (system harness, delay 0; RSS sampled every 250 ms; MiB)',
    table(header, rows),
  )
} finally {
  await system.stop()
}
report.note(`Bun ${Bun.version}; the services' processes are those of \`bun run system\` (infra/system).`)
console.log(report.print())
