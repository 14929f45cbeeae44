/**
 * The whole system as local processes on the shared stack: vehicles-stock, vehicles-ads and two
 * price-estimate instances, each with the stack's endpoints from `.stack/stack.env` plus its own options.
 *
 *   const system = await startSystem({ estimateDelaySeconds: 0, purpose: 'e2e' })
 *   await fetch(`${system.stockUrl}/stock`, ...)
 *   await system.kill('price-estimate-1')    // kill -9
 *   await system.restart('price-estimate-1') // same instance id, waits for /health/ready
 *   await system.stop()                       // SIGTERM, SIGKILL after the grace; drops its databases
 *
 * Each run gets a fresh PostgreSQL database for the stock and a fresh MongoDB database for the ads, so runs
 * never see each other's rows. Topics, consumer groups and transactional ids are the system's own (see
 * lock.ts: one system at a time); the groups start at the end of their topics (groups.ts). Logs: `.stack/logs/system-<name>.log`; pids: `.stack/run/system-<name>.pid`.
 */
import { existsSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { MongoClient, postgres, type StackEnv, stackEnv } from '../../packages/testing/src/index'
import { skipBacklog } from './groups'
import { acquireSystemLock } from './lock'
import { freePort, killLeftover, portTaken, type Spawned, spawnLogged, tail, terminate } from './processes'

export const SERVICES = ['stock', 'ads', 'price-estimate-1', 'price-estimate-2'] as const
export type ServiceName = (typeof SERVICES)[number]

export const repoRoot = resolve(import.meta.dir, '../..')

export interface SystemOptions {
  /** What this run is for; shown to a second run that waits for the lock. */
  purpose?: string
  /** The estimators' ESTIMATE_DELAY_SECONDS (the real system: 30). */
  estimateDelaySeconds?: number
  /** Fixed ports (`bun run system`); tests leave them unset and get free ones. */
  ports?: Partial<Record<ServiceName, number>>
  /** Estimators' SESSION_TIMEOUT_MS: how soon the group notices a killed member. */
  estimatorSessionTimeoutMs?: number
  /** Extra environment per service (LOG_LEVEL, relay settings...). */
  env?: Partial<Record<ServiceName, Record<string, string>>>
  /** Keep the run's databases on stop (for inspection). */
  keepData?: boolean
  readyTimeoutMs?: number
  /** How long to wait for another run's lock. */
  lockWaitMs?: number
  /**
   * Start a service again when it exits on its own, one second later, as compose's
   * `restart: unless-stopped` does. Every such exit is still reported by `crashed()`.
   */
  supervise?: boolean
  say?: (line: string) => void
}

interface Service {
  name: ServiceName
  port: number
  argv: string[]
  cwd: string
  env: Record<string, string>
  process?: Spawned
}

export interface System {
  runId: string
  stack: StackEnv
  stockUrl: string
  adsUrl: string
  estimatorUrls: [string, string]
  /** The stock's own database (fresh for this run). */
  stockDatabaseUrl: string
  mongoUrl: string
  adsDatabase: string
  url(name: ServiceName): string
  pid(name: ServiceName): number | undefined
  logFile(name: ServiceName): string
  /** Signals one service; SIGKILL (the default) waits until it is gone, SIGTERM until it exited or the grace. */
  kill(name: ServiceName, signal?: NodeJS.Signals): Promise<string>
  /** Starts one service again (after `kill`) with the same settings and waits until it is ready. */
  restart(name: ServiceName): Promise<void>
  /** Every exit of a service that this harness did not ask for, with its exit code. */
  crashed(): { name: ServiceName; code: number }[]
  /** Each service's `/health/ready` answer right now (status and body), for failure messages. */
  readiness(): Promise<Record<ServiceName, string>>
  stop(): Promise<void>
}

const runDir = (stack: StackEnv) => join(stack.STACK_DIR ?? join(repoRoot, '.stack'), 'run')
const logDir = (stack: StackEnv) => join(stack.STACK_DIR ?? join(repoRoot, '.stack'), 'logs')

export const DEFAULT_PORTS: Record<ServiceName, number> = {
  stock: 3002,
  ads: 3003,
  'price-estimate-1': 9101,
  'price-estimate-2': 9102,
}

/** A PostgreSQL URL with another database name. */
function withDatabase(url: string, database: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

/** Only what a service needs from our own environment; its settings come from the spec. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ']) {
    const value = process.env[key]
    if (value !== undefined) env[key] = value
  }
  return env
}

async function waitReady(service: Service, logFile: string, timeoutMs: number): Promise<void> {
  const url = `http://127.0.0.1:${service.port}/health/ready`
  const deadline = Date.now() + timeoutMs
  let lastSeen = 'no answer yet'
  for (;;) {
    const code = service.process?.exitCode()
    if (code !== undefined) {
      throw new Error(`${service.name} exited with ${code} while starting; ${logFile}:\n${tail(logFile)}`)
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) })
      const body = await response.text()
      if (response.status === 200) return
      lastSeen = `${response.status} ${body.slice(0, 300)}`
    } catch (error) {
      lastSeen = error instanceof Error ? error.message : String(error)
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${service.name} not ready after ${timeoutMs / 1000} s (${url}: ${lastSeen}); ${logFile}:\n${tail(logFile)}`,
      )
    }
    await Bun.sleep(250)
  }
}

export async function startSystem(options: SystemOptions = {}): Promise<System> {
  const say = options.say ?? (() => {})
  const stack = stackEnv()
  const python = join(repoRoot, 'estimator', '.venv', 'bin', 'python')
  if (!existsSync(python)) {
    throw new Error(`the estimator's virtualenv is missing (${python}): run estimator/scripts/setup.sh first`)
  }
  const runId = `${Date.now().toString(36)}${crypto.randomUUID().slice(0, 4)}`
  const release = await acquireSystemLock(
    join(runDir(stack), 'system.lock'),
    runId,
    options.purpose ?? 'system',
    options.lockWaitMs ?? 10 * 60_000,
    say,
  )
  const services = new Map<ServiceName, Service>()
  const stockDatabase = `stock_${runId}`
  const adsDatabase = `ads_${runId}`
  const stockDatabaseUrl = withDatabase(stack.DATABASE_URL, stockDatabase)
  let databasesCreated = false
  const readyTimeoutMs = options.readyTimeoutMs ?? 120_000
  const logFile = (name: ServiceName) => join(logDir(stack), `system-${name}.log`)
  const pidFile = (name: ServiceName) => join(runDir(stack), `system-${name}.pid`)

  const dropDatabases = async () => {
    if (!databasesCreated || options.keepData) return
    const admin = postgres(stack.DATABASE_URL, { max: 1, onnotice: () => {} })
    try {
      await admin.unsafe(`drop database if exists "${stockDatabase}" with (force)`)
    } finally {
      await admin.end()
    }
    const mongo = new MongoClient(stack.MONGODB_URL, { serverSelectionTimeoutMS: 5_000 })
    try {
      await mongo.db(adsDatabase).dropDatabase()
    } finally {
      await mongo.close()
    }
  }

  // Processes this harness stopped or killed on purpose; any other exit is a crash.
  const killed = new Set<Spawned>()
  const exits: { name: ServiceName; code: number }[] = []
  let stopping = false

  const stopAll = async () => {
    stopping = true
    // The stock first (no new events), then the estimators (they finish their transaction), the ads last.
    const order: ServiceName[][] = [['stock'], ['price-estimate-1', 'price-estimate-2'], ['ads']]
    for (const group of order) {
      await Promise.all(
        group.map(async (name) => {
          const running = services.get(name)?.process
          if (running === undefined) return
          killed.add(running)
          const how = await terminate(running, 'SIGTERM', 15_000)
          rmSync(pidFile(name), { force: true })
          say(`${name}: ${how}`)
        }),
      )
    }
  }

  try {
    for (const name of SERVICES) {
      const leftover = await killLeftover(pidFile(name))
      if (leftover !== undefined) say(`${name}: killed pid ${leftover} left by an earlier run`)
    }

    const admin = postgres(stack.DATABASE_URL, { max: 1, onnotice: () => {} })
    try {
      await admin.unsafe(`create database "${stockDatabase}"`)
      databasesCreated = true
    } finally {
      await admin.end()
    }

    await skipBacklog(
      stack.KAFKA_BROKERS,
      [
        { groupId: 'price-estimate', topic: 'stock.vehicle-created' },
        { groupId: 'vehicles-ads', topic: 'stock.vehicle-processed' },
      ],
      say,
    )

    const port = (name: ServiceName) => options.ports?.[name] ?? freePort()
    const common = {
      ...baseEnv(),
      KAFKA_BROKERS: stack.KAFKA_BROKERS,
      SCHEMA_REGISTRY_URL: stack.SCHEMA_REGISTRY_URL,
    }
    const estimator = (instance: 1 | 2): Service => {
      const name: ServiceName = `price-estimate-${instance}`
      const metricsPort = port(name)
      return {
        name,
        port: metricsPort,
        argv: [python, '-m', 'estimator'],
        cwd: join(repoRoot, 'estimator'),
        env: {
          ...common,
          // Stable across restarts of one instance: its transactional id fences the killed one's zombie.
          INSTANCE_ID: String(instance),
          METRICS_PORT: String(metricsPort),
          METRICS_HOST: '127.0.0.1',
          ESTIMATE_DELAY_SECONDS: String(options.estimateDelaySeconds ?? 30),
          SESSION_TIMEOUT_MS: String(options.estimatorSessionTimeoutMs ?? 30_000),
          CONTRACTS_DIR: join(repoRoot, 'packages', 'contracts', 'schemas'),
          ...options.env?.[name],
        },
      }
    }
    const stockPort = port('stock')
    const adsPort = port('ads')
    const all: Service[] = [
      {
        name: 'stock',
        port: stockPort,
        argv: [process.execPath, join(repoRoot, 'packages', 'stock', 'src', 'main.ts')],
        cwd: join(repoRoot, 'packages', 'stock'),
        env: {
          ...common,
          DATABASE_URL: stockDatabaseUrl,
          PORT: String(stockPort),
          HOST: '127.0.0.1',
          ...options.env?.stock,
        },
      },
      {
        name: 'ads',
        port: adsPort,
        argv: [process.execPath, join(repoRoot, 'packages', 'ads', 'src', 'main.ts')],
        cwd: join(repoRoot, 'packages', 'ads'),
        env: {
          ...common,
          MONGODB_URL: stack.MONGODB_URL,
          MONGODB_DATABASE: adsDatabase,
          PORT: String(adsPort),
          HOST: '127.0.0.1',
          ...options.env?.ads,
        },
      },
      estimator(1),
      estimator(2),
    ]
    for (const service of all) {
      if (await portTaken(service.port)) {
        throw new Error(
          `${service.name}: port ${service.port} is already in use (\`ss -ltnp 'sport = :${service.port}'\`)`,
        )
      }
      services.set(service.name, service)
    }

    const launch = (service: Service) => {
      service.process = spawnLogged({
        argv: service.argv,
        cwd: service.cwd,
        env: service.env,
        logFile: logFile(service.name),
        pidFile: pidFile(service.name),
        marker: `system-${runId}-${service.name}`,
      })
      const spawned = service.process
      say(`${service.name}: started pid ${spawned.pid} on port ${service.port}`)
      void spawned.exited.then(async (code) => {
        if (killed.has(spawned) || stopping) return
        exits.push({ name: service.name, code })
        say(`${service.name}: exited on its own with ${code}; see ${logFile(service.name)}`)
        if (!options.supervise) return
        await Bun.sleep(1_000)
        // Unless someone restarted or stopped it meanwhile.
        if (!stopping && service.process === spawned) launch(service)
      })
    }
    for (const service of all) launch(service)
    await Promise.all(all.map((service) => waitReady(service, logFile(service.name), readyTimeoutMs)))
    say(`system ${runId}: all four services ready`)

    const get = (name: ServiceName): Service => {
      const service = services.get(name)
      if (service === undefined) throw new Error(`no service ${name}`)
      return service
    }
    const url = (name: ServiceName) => `http://127.0.0.1:${get(name).port}`
    let stopped = false

    return {
      runId,
      stack,
      stockUrl: url('stock'),
      adsUrl: url('ads'),
      estimatorUrls: [url('price-estimate-1'), url('price-estimate-2')],
      stockDatabaseUrl,
      mongoUrl: stack.MONGODB_URL,
      adsDatabase,
      url,
      pid: (name) => {
        const running = get(name).process
        return running !== undefined && running.exitCode() === undefined ? running.pid : undefined
      },
      logFile,
      async kill(name, signal = 'SIGKILL') {
        const running = get(name).process
        if (running === undefined) return 'not running'
        killed.add(running)
        const how = await terminate(running, signal, signal === 'SIGKILL' ? 10_000 : 15_000)
        say(`${name}: ${how}`)
        return how
      },
      async restart(name) {
        const service = get(name)
        const running = service.process
        if (running !== undefined && running.exitCode() === undefined) {
          killed.add(running)
          await terminate(running, 'SIGTERM', 15_000)
        }
        launch(service)
        await waitReady(service, logFile(name), readyTimeoutMs)
        say(`${name}: ready again`)
      },
      crashed: () => [...exits],
      async readiness() {
        const entries = await Promise.all(
          SERVICES.map(async (name): Promise<[ServiceName, string]> => {
            try {
              const response = await fetch(`${url(name)}/health/ready`, {
                signal: AbortSignal.timeout(3_000),
              })
              return [name, `${response.status} ${(await response.text()).slice(0, 400)}`]
            } catch (error) {
              return [name, `no answer: ${error instanceof Error ? error.message : String(error)}`]
            }
          }),
        )
        return Object.fromEntries(entries) as Record<ServiceName, string>
      },
      async stop() {
        if (stopped) return
        stopped = true
        try {
          await stopAll()
          await dropDatabases()
        } finally {
          release()
        }
      },
    }
  } catch (error) {
    // A half-started system is torn down whole; the caller only sees the reason.
    await stopAll().catch(() => undefined)
    await dropDatabases().catch(() => undefined)
    release()
    throw error
  }
}
