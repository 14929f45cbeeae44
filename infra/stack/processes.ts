/**
 * Starting and stopping the stack's own processes, and nothing else.
 *
 * Every process is started in its own session (setsid) so it outlives the CLI, with its output appended
 * to `logs/<name>.log` and its pid recorded in `run/<name>.pid` next to a marker: a string its command
 * line must contain (a unique -D flag, its config or data path). A pid is signalled only while its
 * command line still holds that marker, so a recycled pid never hits someone else's process.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runCommand } from '../command'
import { findByMarker, isZombie, MARKER_VARIABLE, ownsPid } from './process-marker'

export interface Launch {
  argv: string[]
  cwd: string
  env?: Record<string, string>
  /** Must appear in /proc/<pid>/cmdline of the started process. */
  marker: string
}

interface PidRecord {
  pid: number
  marker: string
  startedAt: string
}

export type ProcessState =
  | { state: 'running'; pid: number }
  | { state: 'stopped' }
  /** A pid file whose process is gone or is now some other program: left by a crash. */
  | { state: 'stale'; pid: number }

export class Processes {
  constructor(private readonly dir: string) {}

  pidFile(name: string): string {
    return join(this.dir, 'run', `${name}.pid`)
  }

  logFile(name: string): string {
    return join(this.dir, 'logs', `${name}.log`)
  }

  private read(name: string): PidRecord | undefined {
    const file = this.pidFile(name)
    if (!existsSync(file)) return undefined
    try {
      const record = JSON.parse(readFileSync(file, 'utf8')) as Partial<PidRecord>
      if (typeof record.pid === 'number' && typeof record.marker === 'string') {
        return { pid: record.pid, marker: record.marker, startedAt: String(record.startedAt) }
      }
    } catch {
      // A half-written pid file (crash while writing) is treated like a stale one.
    }
    return { pid: -1, marker: '', startedAt: '' }
  }

  state(name: string): ProcessState {
    const record = this.read(name)
    if (record === undefined) return { state: 'stopped' }
    if (record.pid > 0 && ownsPid(record.pid, record.marker)) return { state: 'running', pid: record.pid }
    return { state: 'stale', pid: record.pid }
  }

  /**
   * Finds a process of ours that has no pid file (the CLI died between starting it and recording it)
   * and records it again, so `up` reuses it and `down` can stop it.
   */
  adopt(name: string, marker: string): number | undefined {
    if (this.state(name).state === 'running') return undefined
    const pid = findByMarker(marker)
    if (pid === undefined) return undefined
    mkdirSync(join(this.dir, 'run'), { recursive: true })
    const record: PidRecord = { pid, marker, startedAt: 'adopted' }
    writeFileSync(this.pidFile(name), `${JSON.stringify(record)}\n`)
    return pid
  }

  /**
   * True while the recorded process exists and has not exited. Used right after a start, when a
   * marker check could race with the launch chain's exec calls (cmdline reads empty mid-exec).
   */
  alive(name: string): boolean {
    const pid = this.read(name)?.pid ?? -1
    if (pid <= 0) return false
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
    } catch {
      return false
    }
  }

  /**
   * Removes a stale pid file; returns true when there was one. A process killed a moment ago can
   * linger as a zombie until init reaps it, and programs that check their own lock files (postgres)
   * count a zombie as alive; so wait, briefly, for the old pid to be gone from /proc.
   */
  async clearStale(name: string): Promise<boolean> {
    const current = this.state(name)
    if (current.state !== 'stale') return false
    const deadline = Date.now() + 10_000
    while (current.pid > 0 && isZombie(current.pid) && Date.now() < deadline) await Bun.sleep(100)
    rmSync(this.pidFile(name), { force: true })
    return true
  }

  async start(name: string, launch: Launch): Promise<number> {
    mkdirSync(join(this.dir, 'run'), { recursive: true })
    mkdirSync(join(this.dir, 'logs'), { recursive: true })
    const log = this.logFile(name)
    writeFileSync(log, `\n--- ${new Date().toISOString()} start ${launch.argv.join(' ')}\n`, { flag: 'a' })
    // bash forks once for the background job; nohup and setsid then exec in place, so $! is the pid of
    // the final program (the JVM, postgres, nginx master...), which is what we record and later signal.
    const script =
      'cd "$1" || exit 1; log="$2"; shift 2; nohup setsid "$@" >>"$log" 2>&1 </dev/null & echo $!'
    const { code, out, err } = await runCommand(
      ['bash', '-c', script, 'launch', launch.cwd, log, ...launch.argv],
      {
        env: { ...launch.env, [MARKER_VARIABLE]: launch.marker },
      },
    )
    const pid = Number(out.trim())
    if (code !== 0 || !Number.isInteger(pid) || pid <= 0) {
      throw new Error(`could not start ${name}: ${err.trim() || out.trim() || `exit ${code}`}`)
    }
    const record: PidRecord = { pid, marker: launch.marker, startedAt: new Date().toISOString() }
    writeFileSync(this.pidFile(name), `${JSON.stringify(record)}\n`)
    return pid
  }

  /**
   * Signals the recorded process and waits for it to go. With SIGTERM it escalates to SIGKILL after
   * `graceMs`. Returns what was done, for the CLI to print.
   */
  async stop(name: string, { signal = 'SIGTERM', graceMs = 30_000 }: StopOptions = {}): Promise<string> {
    const current = this.state(name)
    if (current.state === 'stopped') return 'not running'
    if (current.state === 'stale') {
      rmSync(this.pidFile(name), { force: true })
      return `stale pid file removed (pid ${current.pid} was not ours)`
    }
    const record = this.read(name)
    const marker = record?.marker ?? ''
    signalProcess(current.pid, signal)
    const deadline = Date.now() + (signal === 'SIGKILL' ? 10_000 : graceMs)
    while (ownsPid(current.pid, marker) && Date.now() < deadline) await Bun.sleep(100)
    let how = signal
    if (ownsPid(current.pid, marker)) {
      signalProcess(current.pid, 'SIGKILL')
      how = 'SIGKILL'
      while (ownsPid(current.pid, marker)) await Bun.sleep(50)
    }
    // Let init reap it, so a restart never meets its lock files held by a zombie; after a SIGKILL to
    // the group, also wait for the rest of the group to die (a signal is delivered, not awaited).
    const reaped = Date.now() + 5_000
    const lingering = () => isZombie(current.pid) || (how === 'SIGKILL' && groupAlive(current.pid, marker))
    while (lingering() && Date.now() < reaped) await Bun.sleep(50)
    rmSync(this.pidFile(name), { force: true })
    return `stopped pid ${current.pid} (${how})`
  }
}

/**
 * SIGKILL goes to the whole process group: a killed nginx master or postmaster would otherwise leave
 * its workers holding the port and shared memory, and the next start would fail.
 */
function signalProcess(pid: number, signal: NodeJS.Signals) {
  if (signal === 'SIGKILL' && leadsGroup(pid)) process.kill(-pid, signal)
  else process.kill(pid, signal)
}

export interface StopOptions {
  signal?: 'SIGTERM' | 'SIGKILL' | 'SIGINT' | 'SIGQUIT'
  graceMs?: number
}

/**
 * True when the process leads its own process group (setsid made it so), which can then be signalled
 * whole. Also used by the fault tests (tests/support/stack-faults.ts) to freeze a component whole.
 */
export function leadsGroup(pid: number): boolean {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid pgrp ..."; comm may hold spaces, so read after the ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[2]) === pid
  } catch {
    return false
  }
}

/** True while any live process of process group `group` still carries `marker`. */
function groupAlive(group: number, marker: string): boolean {
  return readdirSync('/proc').some((entry) => {
    if (!/^\d+$/.test(entry)) return false
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      return (
        Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === group &&
        ownsPid(Number(entry), marker)
      )
    } catch {
      return false
    }
  })
}

/** Resident memory, in KiB, of a process and everything in its process group (workers, backends). */
export function groupRssKib(pid: number): number {
  let total = 0
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(entry) !== pid && Number(fields[2]) !== pid) continue
      const rss = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1]
      total += Number(rss ?? 0)
    } catch {
      // The process ended while we looked.
    }
  }
  return total
}
