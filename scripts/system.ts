/**
 * `bun run system [--delay <seconds>] [--fresh]`: the whole system on the local stack (no Docker), in the
 * foreground until Ctrl-C. It brings the stack up (a no-op when it runs), starts vehicles-stock, vehicles-ads
 * and two price-estimate instances, and supervises them like compose's `restart: unless-stopped`: a
 * service that exits is started again with backoff, the others keep running, and the status line says how
 * often each has restarted. Ctrl-C stops the services in order, each finishing its work.
 *
 * Data persists: the stock's rows in the PostgreSQL database `stock`, the ads in the MongoDB database
 * `ads` (SYSTEM_STOCK_DATABASE / SYSTEM_ADS_DATABASE name others); `--fresh` empties both first.
 * Ports: stock 3002, ads 3003, estimators' metrics 9101 and 9102, each plus STACK_PORT_OFFSET.
 * `--delay` sets the estimators' ESTIMATE_DELAY_SECONDS (default 30, as in the original system).
 * `bash scripts/system.sh` does the same after installing what is missing.
 */

import { statusLine } from '../infra/system/supervisor'
import { DEFAULT_PORTS, type ServiceName, type System, startSystem } from '../infra/system/system'

const usage = 'usage: bun run system [--delay <seconds>] [--fresh]'
const say = (line: string) => console.log(`[system] ${line}`)

function parseArgs(argv: string[]): { delay: number; fresh: boolean } {
  let delay = 30
  let fresh = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--fresh') fresh = true
    else if (arg === '--delay') {
      const value = Number(argv[++i])
      if (!Number.isFinite(value) || value < 0)
        throw new Error(`--delay needs a number of seconds >= 0\n${usage}`)
      delay = value
    } else throw new Error(`unknown argument ${arg}\n${usage}`)
  }
  return { delay, fresh }
}

function portOffset(): number {
  const raw = process.env.STACK_PORT_OFFSET ?? '0'
  const offset = Number(raw)
  if (!Number.isInteger(offset) || offset < 0 || offset > 20_000) {
    throw new Error(`STACK_PORT_OFFSET=${raw} is not an integer in 0..20000`)
  }
  return offset
}

function databaseName(variable: string, fallback: string): string {
  const name = process.env[variable] || fallback
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name))
    throw new Error(`${variable}=${name}: use lower-case letters, digits, _`)
  return name
}

async function stackUp(): Promise<void> {
  const child = Bun.spawn(['bun', 'infra/stack/cli.ts', 'up'], {
    cwd: `${import.meta.dir}/..`,
    stdout: 'inherit',
    stderr: 'inherit',
  })
  const code = await child.exited
  if (code !== 0) throw new Error(`\`bun run stack up\` failed (exit ${code}); see its output above`)
}

function banner(system: System, delay: number, databases: { stock: string; ads: string }): string {
  const names: ServiceName[] = ['stock', 'ads', 'price-estimate-1', 'price-estimate-2']
  return `
vehicles is running (estimate delay ${delay} s):
  vehicles-stock    ${system.stockUrl}   POST /stock, GET /stock, docs ${system.stockUrl}/openapi
  vehicles-ads      ${system.adsUrl}   GET /ads, GET /ads/:id, docs ${system.adsUrl}/openapi
  price-estimate-1  ${system.estimatorUrls[0]}/metrics
  price-estimate-2  ${system.estimatorUrls[1]}/metrics
  stock database    ${system.stockDatabaseUrl}  (persists; --fresh empties it)
  ads database      ${databases.ads} on ${system.mongoUrl}
  logs              ${names.map((name) => system.logFile(name)).join('\n                    ')}

Try:
  curl -s -XPOST ${system.stockUrl}/stock -H 'content-type: application/json' \\
    -d '{"vin":"WVWZZZ1JZXW000001","manufacturer":"Volkswagen","model":"Golf","year":2019,"odometer":42000,"odometerUnit":"km"}'
  curl -s ${system.adsUrl}/ads

Ctrl-C stops it.`
}

async function readyMap(system: System): Promise<Record<string, boolean>> {
  const answers = await system.readiness()
  return Object.fromEntries(
    Object.entries(answers).map(([name, answer]) => [name, answer.startsWith('200 ')]),
  )
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2))
  const offset = portOffset()
  const databases = {
    stock: databaseName('SYSTEM_STOCK_DATABASE', 'stock'),
    ads: databaseName('SYSTEM_ADS_DATABASE', 'ads'),
  }
  const ports = Object.fromEntries(
    Object.entries(DEFAULT_PORTS).map(([name, port]) => [name, port + offset]),
  ) as Record<ServiceName, number>

  let system: System | undefined
  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    say('Ctrl-C: stopping the services (stock, estimators, ads), each finishing its work')
    await system?.stop()
    say('stopped; the stack keeps running (`bun run stack down` stops it)')
    process.exit(0)
  }
  process.on('SIGINT', () => void stop())
  process.on('SIGTERM', () => void stop())

  await stackUp()
  system = await startSystem({
    purpose: 'bun run system',
    estimateDelaySeconds: args.delay,
    ports,
    databases,
    fresh: args.fresh,
    supervise: true,
    // How soon the group gives a crashed estimator's partitions to the other one, or to its own restart:
    // the watchdog's exit (25 s without a turn) plus this must stay inside a minute of recovery. Heartbeats
    // come every 3 s from librdkafka's own thread, so 10 s is three missed beats, not a busy loop.
    estimatorSessionTimeoutMs: 10_000,
    // A crashed ads process, restarted, takes its partitions back at once (see staticAdsMember).
    staticAdsMember: true,
    waitReady: false,
    detached: true,
    lockWaitMs: 0,
    say,
  })

  // Every few seconds: print the status line when something changed (a process, a restart, readiness).
  let announced = false
  let last = ''
  for (;;) {
    // stop() ends the process once every service is down.
    if (stopping) await new Promise(() => {})
    const ready = await readyMap(system)
    const line = statusLine(system.status(), ready)
    const key = line.replace(/restarting in \d+ s/g, 'restarting')
    if (key !== last) {
      last = key
      say(`status: ${line}`)
    }
    if (!announced && Object.values(ready).every(Boolean)) {
      announced = true
      console.log(banner(system, args.delay, databases))
    }
    await Bun.sleep(2_000)
  }
}

try {
  process.exit(await main())
} catch (error) {
  console.error(`system: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
}
