/**
 * One service process under supervision, as compose's `restart: unless-stopped` keeps a container: an exit
 * nobody asked for (a crash, a `kill -9`, the estimator's watchdog giving up on a stuck Kafka call) starts
 * the process again, with backoff, and counts the restart; the other services are never touched. Only
 * `stop()` (or `kill()`, which tests use to play a crash they then mend by hand) ends supervision.
 *
 * Backoff: the first restart comes after `firstDelayMs`, each quick failure doubles the wait up to
 * `maxDelayMs`, and a process that ran `resetAfterMs` before it exited counts as healthy again, so a
 * service that crashes once a day restarts at once, while one that cannot start does not spin.
 */
import { type Spawned, type SpawnSpec, spawnLogged, tail, terminate } from './processes'

/** What to spawn (processes.ts), and the name and port it is known by. */
export interface ServiceSpec extends SpawnSpec {
  name: string
  port: number
}

export interface Backoff {
  firstDelayMs: number
  maxDelayMs: number
  resetAfterMs: number
}

export const DEFAULT_BACKOFF: Backoff = { firstDelayMs: 500, maxDelayMs: 30_000, resetAfterMs: 60_000 }

export type Phase = 'running' | 'restarting' | 'stopped'

export interface ServiceStatus {
  name: string
  phase: Phase
  pid?: number
  restarts: number
  lastExit?: number
  /** When `phase` is `restarting`: in how many milliseconds. */
  restartInMs?: number
}

export interface SupervisorHooks {
  /** Restart after an exit nobody asked for (else the exit is only reported). */
  restart: boolean
  backoff?: Backoff
  say: (line: string) => void
  /** Every exit nobody asked for, restarted or not. */
  onUnexpectedExit?: (code: number) => void
}

export class Supervised {
  readonly spec: ServiceSpec
  private readonly hooks: SupervisorHooks
  private readonly backoff: Backoff
  private current: Spawned | undefined
  private startedAt = 0
  private quickFailures = 0
  private restartAt: number | undefined
  private restartTimer: ReturnType<typeof setTimeout> | undefined
  private supervising = false
  private restartCount = 0
  private lastExitCode: number | undefined

  constructor(spec: ServiceSpec, hooks: SupervisorHooks) {
    this.spec = spec
    this.hooks = hooks
    this.backoff = hooks.backoff ?? DEFAULT_BACKOFF
  }

  /** The running process, if any. */
  get process(): Spawned | undefined {
    return this.current
  }

  /** Starts the process (again) and supervises it; a no-op while it runs. */
  start(): Spawned {
    this.cancelRestart()
    this.supervising = true
    if (this.current !== undefined && this.current.exitCode() === undefined) return this.current
    const spawned = spawnLogged(this.spec)
    this.current = spawned
    this.startedAt = Date.now()
    this.hooks.say(`${this.spec.name}: started pid ${spawned.pid} on port ${this.spec.port}`)
    void spawned.exited.then((code) => this.exited(spawned, code))
    return spawned
  }

  /** No restart from now on (the whole system is stopping); the process keeps running. */
  endSupervision(): void {
    this.supervising = false
    this.cancelRestart()
  }

  /** Signals the process on purpose: supervision ends until the next `start()`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<string> {
    this.supervising = false
    this.cancelRestart()
    const running = this.current
    if (running === undefined) return 'not running'
    return terminate(running, signal, graceMs)
  }

  status(): ServiceStatus {
    const running = this.current !== undefined && this.current.exitCode() === undefined
    const phase: Phase = running ? 'running' : this.restartAt !== undefined ? 'restarting' : 'stopped'
    return {
      name: this.spec.name,
      phase,
      pid: running ? this.current?.pid : undefined,
      restarts: this.restartCount,
      lastExit: this.lastExitCode,
      restartInMs: this.restartAt === undefined ? undefined : Math.max(0, this.restartAt - Date.now()),
    }
  }

  private exited(spawned: Spawned, code: number) {
    // An exit of a process already replaced, or one we stopped on purpose, is no crash.
    if (spawned !== this.current || !this.supervising) return
    this.lastExitCode = code
    this.hooks.onUnexpectedExit?.(code)
    if (!this.hooks.restart) {
      this.hooks.say(`${this.spec.name}: exited on its own with ${code}; see ${this.spec.logFile}`)
      return
    }
    const ranMs = Date.now() - this.startedAt
    this.quickFailures = ranMs >= this.backoff.resetAfterMs ? 0 : this.quickFailures + 1
    const delay = Math.min(
      this.backoff.maxDelayMs,
      this.backoff.firstDelayMs * 2 ** Math.max(0, this.quickFailures - 1),
    )
    this.restartAt = Date.now() + delay
    this.hooks.say(
      `${this.spec.name}: exited with ${code} after ${(ranMs / 1000).toFixed(0)} s; restart ${this.restartCount + 1} in ${(delay / 1000).toFixed(1)} s (log ${this.spec.logFile})`,
    )
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined
      this.restartAt = undefined
      if (!this.supervising) return
      this.restartCount += 1
      this.start()
    }, delay)
  }

  private cancelRestart() {
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer)
    this.restartTimer = undefined
    this.restartAt = undefined
  }
}

/** One line for all services: `stock running pid 12 · ads restarting in 2 s (restarts 3, last exit 1)`. */
export function statusLine(statuses: ServiceStatus[], ready?: Record<string, boolean>): string {
  return statuses
    .map((s) => {
      const health = ready?.[s.name] === undefined ? '' : ready[s.name] ? ' ready' : ' not ready'
      const where =
        s.phase === 'running'
          ? `running pid ${s.pid}${health}`
          : s.phase === 'restarting'
            ? `restarting in ${((s.restartInMs ?? 0) / 1000).toFixed(0)} s`
            : 'stopped'
      const exit = s.lastExit === undefined ? '' : `, last exit ${s.lastExit}`
      return `${s.name} ${where} (restarts ${s.restarts}${exit})`
    })
    .join(' · ')
}

/** Waits for `/health/ready` to answer 200; names what it last saw when the deadline passes. */
export async function waitReady(service: Supervised, supervised: boolean, timeoutMs: number): Promise<void> {
  const { name, port, logFile } = service.spec
  const url = `http://127.0.0.1:${port}/health/ready`
  const deadline = Date.now() + timeoutMs
  let lastSeen = 'no answer yet'
  for (;;) {
    const code = service.process?.exitCode()
    // Under supervision an exit while starting is restarted; otherwise it is the answer.
    if (code !== undefined && !supervised) {
      throw new Error(`${name} exited with ${code} while starting; ${logFile}:\n${tail(logFile)}`)
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
        `${name} not ready after ${timeoutMs / 1000} s (${url}: ${lastSeen}); ${logFile}:\n${tail(logFile)}`,
      )
    }
    await Bun.sleep(250)
  }
}
