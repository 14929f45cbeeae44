/**
 * `bun run system [--delay <seconds>] [--keep]`: the whole system as local processes on the local stack
 * (no Docker), in the foreground until Ctrl-C: vehicles-stock on 3002, vehicles-ads on 3003, two
 * price-estimate instances (metrics 9101, 9102). Needs `bun run stack up` and `estimator/scripts/setup.sh`.
 *
 * `--delay` sets the estimators' ESTIMATE_DELAY_SECONDS (default 30, as in the original system); `--keep`
 * keeps this run's databases after Ctrl-C (they are dropped otherwise).
 */
import { DEFAULT_PORTS, type ServiceName, type System, startSystem } from '../tests/support/system'

const usage = 'usage: bun run system [--delay <seconds>] [--keep]'

function parseArgs(argv: string[]): { delay: number; keep: boolean } {
  let delay = 30
  let keep = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--keep') keep = true
    else if (arg === '--delay') {
      const value = Number(argv[++i])
      if (!Number.isFinite(value) || value < 0)
        throw new Error(`--delay needs a number of seconds >= 0\n${usage}`)
      delay = value
    } else throw new Error(`unknown argument ${arg}\n${usage}`)
  }
  return { delay, keep }
}

const say = (line: string) => console.log(line)

let args: { delay: number; keep: boolean }
try {
  args = parseArgs(process.argv.slice(2))
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error))
  process.exit(2)
}

let system: System | undefined
let stopping = false
async function stop(code: number) {
  if (stopping) return
  stopping = true
  say('stopping...')
  await system?.stop()
  process.exit(code)
}
process.on('SIGINT', () => void stop(0))
process.on('SIGTERM', () => void stop(0))

try {
  system = await startSystem({
    purpose: 'bun run system',
    estimateDelaySeconds: args.delay,
    ports: DEFAULT_PORTS,
    keepData: args.keep,
    lockWaitMs: 0,
    say,
  })
} catch (error) {
  console.error(`system: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
}

const names: ServiceName[] = ['stock', 'ads', 'price-estimate-1', 'price-estimate-2']
say(`
vehicles is running (estimate delay ${args.delay} s):
  vehicles-stock    ${system.stockUrl}   POST /stock, GET /stock, docs ${system.stockUrl}/openapi
  vehicles-ads      ${system.adsUrl}   GET /ads, GET /ads/:id, docs ${system.adsUrl}/openapi
  price-estimate-1  ${system.estimatorUrls[0]}/metrics
  price-estimate-2  ${system.estimatorUrls[1]}/metrics
  stock database    ${system.stockDatabaseUrl}
  ads database      ${system.adsDatabase} on ${system.mongoUrl}
  logs              ${names.map((name) => system?.logFile(name)).join('\n                    ')}

Try:
  curl -s -XPOST ${system.stockUrl}/stock -H 'content-type: application/json' \\
    -d '{"vin":"WVWZZZ1JZXW000001","manufacturer":"Volkswagen","model":"Golf","year":2019,"odometer":42000,"odometerUnit":"km"}'
  curl -s ${system.adsUrl}/ads

Ctrl-C stops it.`)

// A service that dies on its own ends the run, loudly, instead of leaving a half system up.
for (;;) {
  await Bun.sleep(1_000)
  const crashed = system.crashed()
  if (crashed.length > 0 && !stopping) {
    for (const { name, code } of crashed)
      console.error(`${name} exited with ${code}; see ${system.logFile(name)}`)
    await stop(1)
  }
}
