/**
 * The whole system as local processes on the local stack: vehicles-stock, vehicles-ads and two
 * price-estimate instances, each with the stack's endpoints from `stack.env` plus its own options. Used by
 * `bun run system` (the runner: supervised, named databases that persist) and by the tests and benches
 * (fresh databases of their own, dropped on stop).
 *
 *   const system = await startSystem({ estimateDelaySeconds: 0, purpose: 'e2e' })
 *   await fetch(`${system.stockUrl}/stock`, ...)
 *   await system.kill('price-estimate-1')    // kill -9, on purpose: not restarted
 *   await system.restart('price-estimate-1') // same instance id, waits for /health/ready
 *   await system.stop()                       // SIGTERM in order, SIGKILL after the grace
 *
 * Topics, consumer groups and transactional ids are the system's own (see lock.ts: one system at a time).
 * A run on fresh databases starts its groups at the end of their topics (groups.ts); a run on persisting
 * databases carries on from the committed offsets, which is what finishes the work of an earlier run.
 * Logs: `<STACK_DIR>/logs/system-<name>.log`; pids: `<STACK_DIR>/run/system-<name>.pid`.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { type StackEnv, stackEnv } from '../../packages/testing/src/index'
import { dropDatabases } from './databases'
import { acquireSystemLock } from './lock'
import {
  DEFAULT_PORTS,
  estimatorPython,
  repoRoot,
  SERVICES,
  type ServiceName,
  serviceCommands,
  withDatabase,
} from './services'
import {
  addSupervisedServices,
  assignPorts,
  killLeftovers,
  prepareStockDatabase,
  readinessReport,
  skipOurBacklog,
  stackDir,
  stopInOrder,
} from './startup'
import { type Backoff, type ServiceStatus, type Supervised, waitReady } from './supervisor'

export { DEFAULT_PORTS, repoRoot, SERVICES, type ServiceName }

export interface SystemOptions {
  /** What this run is for; shown to a second run that waits for the lock. */
  purpose?: string
  /** The estimators' ESTIMATE_DELAY_SECONDS (the real system: 30). */
  estimateDelaySeconds?: number
  /** Fixed ports (`bun run system`); tests leave them unset and get free ones. */
  ports?: Partial<Record<ServiceName, number>>
  /** Estimators' SESSION_TIMEOUT_MS: how soon the group notices a killed member. */
  estimatorSessionTimeoutMs?: number
  /**
   * vehicles-ads as a static group member (`vehicles-ads-1`): restarted after a crash, it takes its
   * partitions back at once instead of waiting out the killed member's session (30 s), so it consumes
   * again within seconds. The price: a stopped static member holds the group until its session expires,
   * so the next run that skips the backlog (fresh databases) waits up to that long. For the supervised
   * runner; tests that start and stop many systems leave it off.
   */
  staticAdsMember?: boolean
  /** Extra environment per service (LOG_LEVEL, relay settings...). */
  env?: Partial<Record<ServiceName, Record<string, string>>>
  /**
   * Named databases that outlive the run (`bun run system`: stock and ads). Unset: a fresh pair for this
   * run only, dropped on stop unless `keepData`.
   */
  databases?: { stock: string; ads: string }
  /** With `databases`: drop them first (the run starts empty) and skip the topics' backlog. */
  fresh?: boolean
  /** Keep a fresh run's databases on stop (for inspection). */
  keepData?: boolean
  readyTimeoutMs?: number
  /** Return only once every service answers ready (default); the runner watches readiness itself. */
  waitReady?: boolean
  /** How long to wait for another run's lock. */
  lockWaitMs?: number
  /**
   * Start a service again when it exits on its own, with backoff, as compose's `restart:
   * unless-stopped` does. Every such exit is still reported by `crashed()`.
   */
  supervise?: boolean
  backoff?: Backoff
  /** Each service in its own process group, so only the runner sees a terminal's Ctrl-C. */
  detached?: boolean
  say?: (line: string) => void
}

export interface System {
  runId: string
  stack: StackEnv
  stockUrl: string
  adsUrl: string
  estimatorUrls: [string, string]
  stockDatabaseUrl: string
  mongoUrl: string
  adsDatabase: string
  url(name: ServiceName): string
  pid(name: ServiceName): number | undefined
  logFile(name: ServiceName): string
  /** Signals one service on purpose (not restarted); SIGKILL (the default) waits until it is gone. */
  kill(name: ServiceName, signal?: NodeJS.Signals): Promise<string>
  /** Starts one service again (after `kill`) with the same settings and waits until it is ready. */
  restart(name: ServiceName): Promise<void>
  /** Every exit of a service that nobody asked for, with its exit code. */
  crashed(): { name: ServiceName; code: number }[]
  /** Each service's process, restarts and last exit. */
  status(): ServiceStatus[]
  /** Each service's `/health/ready` answer right now (status and body), for failure messages. */
  readiness(): Promise<Record<ServiceName, string>>
  /** Stops every service (stock, then the estimators, then the ads) and releases the lock. */
  stop(): Promise<void>
}

function requireEstimatorVenv() {
  if (!existsSync(estimatorPython)) {
    throw new Error(
      `the estimator's virtualenv is missing (${estimatorPython}): run estimator/scripts/setup.sh`,
    )
  }
}

/** A fresh run id, and the lock that keeps this the only system on the stack (see lock.ts). */
async function lockRun(stack: StackEnv, options: SystemOptions, say: (line: string) => void) {
  const runId = `${Date.now().toString(36)}${crypto.randomUUID().slice(0, 4)}`
  const runDir = join(stackDir(stack), 'run')
  const release = await acquireSystemLock(
    join(runDir, 'system.lock'),
    runId,
    options.purpose ?? 'system',
    options.lockWaitMs ?? 10 * 60_000,
    say,
  )
  return { runId, runDir, release }
}

export async function startSystem(options: SystemOptions = {}): Promise<System> {
  const say = options.say ?? (() => {})
  const stack = stackEnv()
  requireEstimatorVenv()
  const { runId, runDir, release } = await lockRun(stack, options, say)
  const persistent = options.databases !== undefined
  const databases = options.databases ?? { stock: `stock_${runId}`, ads: `ads_${runId}` }
  const stockDatabaseUrl = withDatabase(stack.DATABASE_URL, databases.stock)
  const dropOnStop = !persistent && !options.keepData
  let created = false
  const dropIfOurs = async () => {
    if (created && dropOnStop) await dropDatabases(stack, databases)
  }
  const supervise = options.supervise ?? false
  const services = new Map<ServiceName, Supervised>()
  const exits: { name: ServiceName; code: number }[] = []
  const stopAll = () => stopInOrder(services, say)

  try {
    await killLeftovers(runDir, say)
    await prepareStockDatabase(stack, databases, persistent && options.fresh === true, say)
    created = true
    if (!persistent || options.fresh) await skipOurBacklog(stack, say)

    const commands = serviceCommands({
      stack,
      ports: assignPorts(options.ports),
      stockDatabaseUrl,
      adsDatabase: databases.ads,
      estimateDelaySeconds: options.estimateDelaySeconds ?? 30,
      estimatorSessionTimeoutMs: options.estimatorSessionTimeoutMs ?? 30_000,
      adsGroupInstanceId: options.staticAdsMember ? 'vehicles-ads-1' : undefined,
      env: options.env,
    })
    await addSupervisedServices(commands, services, {
      stack,
      runDir,
      runId,
      detached: options.detached,
      restart: supervise,
      backoff: options.backoff,
      say,
      onUnexpectedExit: (name, code) => exits.push({ name, code }),
    })
    for (const service of services.values()) service.start()
    const readyTimeoutMs = options.readyTimeoutMs ?? 120_000
    if (options.waitReady ?? true) {
      await Promise.all([...services.values()].map((s) => waitReady(s, supervise, readyTimeoutMs)))
      say(`system ${runId}: all four services ready`)
    }
    const stop = async () => {
      try {
        await stopAll()
        await dropIfOurs()
      } finally {
        release()
      }
    }
    return systemHandle({
      runId,
      stack,
      stockDatabaseUrl,
      databases,
      services,
      exits,
      supervise,
      readyTimeoutMs,
      say,
      stop,
    })
  } catch (error) {
    // A half-started system is torn down whole; the caller only sees the reason.
    await stopAll().catch(() => undefined)
    await dropIfOurs().catch(() => undefined)
    release()
    throw error
  }
}

interface HandleParts {
  runId: string
  stack: StackEnv
  stockDatabaseUrl: string
  databases: { stock: string; ads: string }
  services: Map<ServiceName, Supervised>
  exits: { name: ServiceName; code: number }[]
  supervise: boolean
  readyTimeoutMs: number
  say: (line: string) => void
  /** Stops the services and drops this run's databases; called at most once. */
  stop: () => Promise<void>
}

/** What a caller holds of a started system: its endpoints and the controls of each service. */
function systemHandle(p: HandleParts): System {
  const { say, supervise, readyTimeoutMs } = p
  const get = (name: ServiceName): Supervised => {
    const service = p.services.get(name)
    if (service === undefined) throw new Error(`no service ${name}`)
    return service
  }
  const url = (name: ServiceName) => `http://127.0.0.1:${get(name).spec.port}`
  let stopped = false
  return {
    runId: p.runId,
    stack: p.stack,
    stockUrl: url('stock'),
    adsUrl: url('ads'),
    estimatorUrls: [url('price-estimate-1'), url('price-estimate-2')],
    stockDatabaseUrl: p.stockDatabaseUrl,
    mongoUrl: p.stack.MONGODB_URL,
    adsDatabase: p.databases.ads,
    url,
    pid: (name) => get(name).status().pid,
    logFile: (name) => get(name).spec.logFile,
    async kill(name, signal = 'SIGKILL') {
      const how = await get(name).stop(signal, signal === 'SIGKILL' ? 10_000 : 15_000)
      say(`${name}: ${how}`)
      return how
    },
    async restart(name) {
      const service = get(name)
      await service.stop('SIGTERM', 15_000)
      service.start()
      await waitReady(service, supervise, readyTimeoutMs)
      say(`${name}: ready again`)
    },
    crashed: () => [...p.exits],
    status: () => SERVICES.map((name) => get(name).status()),
    readiness: () => readinessReport(url),
    async stop() {
      if (stopped) return
      stopped = true
      await p.stop()
    },
  }
}
