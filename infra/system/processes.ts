/**
 * Child processes of the system runner: spawned with their output appended to a log file, recorded in a
 * pid file next to a marker, and signalled only while they still carry that marker, so a recycled pid
 * never hits somebody else's process. The marker travels in the environment variable the stack itself
 * uses (`VEHICLES_STACK_MARKER`), which lets `ownsPid` from infra/stack recognise our children too.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { MARKER_VARIABLE, ownsPid } from '../stack/process-marker'

export interface Spawned {
  pid: number
  marker: string
  exited: Promise<number>
  /** The exit code once it has exited, else undefined. */
  exitCode: () => number | undefined
}

/**
 * Only what a child needs from our own environment (PATH and friends); its settings come from its spec,
 * so a stray variable in the caller's shell never changes a run. The runner's services and the bench
 * candidates both start from this.
 */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ']) {
    const value = process.env[key]
    if (value !== undefined) env[key] = value
  }
  return env
}

export interface SpawnSpec {
  argv: string[]
  cwd: string
  env: Record<string, string>
  logFile: string
  pidFile: string
  marker: string
  /**
   * Its own process group (the runner): a Ctrl-C in the terminal then reaches the runner only, which
   * stops the services in order (stock first, ads last) instead of all at once. Tests leave it off, so a
   * Ctrl-C on a test run takes its services along.
   */
  detached?: boolean
}

export function spawnLogged(spec: SpawnSpec): Spawned {
  mkdirSync(dirname(spec.logFile), { recursive: true })
  mkdirSync(dirname(spec.pidFile), { recursive: true })
  writeFileSync(spec.logFile, `\n--- ${new Date().toISOString()} start ${spec.argv.join(' ')}\n`, {
    flag: 'a',
  })
  const fd = openSync(spec.logFile, 'a')
  const child = Bun.spawn(spec.argv, {
    cwd: spec.cwd,
    env: { ...spec.env, [MARKER_VARIABLE]: spec.marker },
    stdin: 'ignore',
    stdout: fd,
    stderr: fd,
    detached: spec.detached ?? false,
  })
  // The child holds its own copy of the descriptor.
  closeSync(fd)
  writeFileSync(spec.pidFile, `${JSON.stringify({ pid: child.pid, marker: spec.marker })}\n`)
  let code: number | undefined
  const exited = child.exited.then((value) => {
    code = value
    return value
  })
  return { pid: child.pid, marker: spec.marker, exited, exitCode: () => code }
}

export function alive(pid: number, marker: string): boolean {
  return ownsPid(pid, marker)
}

/**
 * Sends `signal`, waits up to `graceMs` for the process to go, then SIGKILLs it. Returns how it ended.
 */
export async function terminate(
  spawned: Spawned,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 15_000,
): Promise<string> {
  if (spawned.exitCode() !== undefined) return `already exited (${spawned.exitCode()})`
  signalIfOurs(spawned.pid, spawned.marker, signal)
  const timeout = Bun.sleep(graceMs).then(() => 'timeout' as const)
  if ((await Promise.race([spawned.exited, timeout])) === 'timeout') {
    signalIfOurs(spawned.pid, spawned.marker, 'SIGKILL')
    await spawned.exited
    return `${signal} ignored for ${graceMs} ms: SIGKILL`
  }
  return `${signal}: exited ${spawned.exitCode()}`
}

function signalIfOurs(pid: number, marker: string, signal: NodeJS.Signals) {
  if (!ownsPid(pid, marker)) return
  try {
    process.kill(pid, signal)
  } catch {
    // It exited between the check and the signal.
  }
}

/**
 * Kills what a crashed earlier run left behind (its pid file names a live process with its marker), so a
 * new run never finds a stale service holding a port or a consumer-group membership.
 */
export async function killLeftover(pidFile: string): Promise<number | undefined> {
  if (!existsSync(pidFile)) return undefined
  let record: { pid?: unknown; marker?: unknown } = {}
  try {
    record = JSON.parse(readFileSync(pidFile, 'utf8')) as typeof record
  } catch {
    // Half-written: nothing to kill.
  }
  rmSync(pidFile, { force: true })
  if (typeof record.pid !== 'number' || typeof record.marker !== 'string') return undefined
  const { pid, marker } = record
  if (!ownsPid(pid, marker)) return undefined
  signalIfOurs(pid, marker, 'SIGKILL')
  const deadline = Date.now() + 10_000
  while (ownsPid(pid, marker) && Date.now() < deadline) await Bun.sleep(50)
  return pid
}

/** The last `lines` lines of a log, for failure messages. */
export function tail(file: string, lines = 30): string {
  if (!existsSync(file)) return `(no log at ${file})`
  const text = readFileSync(file, 'utf8').trimEnd().split('\n')
  return text.slice(-lines).join('\n')
}

/** A port nobody listens on right now (the kernel picks it). */
export function freePort(): number {
  const server = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data: () => {} } })
  const { port } = server
  server.stop(true)
  return port
}
