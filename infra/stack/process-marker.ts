/**
 * Which processes are the stack's: every process the stack starts carries a marker (in its command line
 * or in its environment), and a pid is ours only while the live process there carries it. Recorded pids
 * are checked with it before any signal, and a survivor without a pid file is found by it.
 */
import { readdirSync, readFileSync } from 'node:fs'

/**
 * True when `pid` is alive, not a zombie, and carries `marker`: as a whole word of its command line (so
 * the marker of kafka-1 never matches a kafka-10), or in the environment variable every launch sets.
 * The environment covers wrapper scripts that run a moment before they exec the real program.
 */
export function ownsPid(pid: number, marker: string): boolean {
  if (marker === '') return false
  // While a process is inside execve its new image has no environment (and often no command line)
  // yet: it reads empty for a moment. Every launch execs several times (bash, nohup, setsid, the program), so
  // reading once could call our own running process a stranger; that window is waited out instead.
  const deadline = Date.now() + 200
  for (;;) {
    const seen = markerOf(pid, marker)
    if (seen !== 'between-images' || Date.now() > deadline) return seen === true
    Bun.sleepSync(1)
  }
}

/**
 * True when the process started within the last two seconds: only a launch is inside its execs. An
 * older process with no environment has none for good (often PID 1 in a container), and a scan of every
 * process (findByMarker) must not wait on it.
 */
function startedLately(statFields: string[]): boolean {
  // Field 22 of /proc/PID/stat (index 19 after the name) is the start, in clock ticks since boot
  // (100 a second on Linux); /proc/uptime gives the seconds since boot.
  const startedAtSeconds = Number(statFields[19]) / 100
  const uptimeSeconds = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0])
  return uptimeSeconds - startedAtSeconds < 2
}

/** Linux's PF_KTHREAD flag: kernel threads have no environment at all, ever. */
const KERNEL_THREAD_FLAG = 0x00200000

function markerOf(pid: number, marker: string): boolean | 'between-images' {
  try {
    const status = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = status.slice(status.lastIndexOf(')') + 2).split(' ')
    // The first field after the name is the state; a zombie has exited already, only its parent has
    // not reaped it yet.
    if (fields[0] === 'Z') return false
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    if (` ${cmdline.replaceAll('\0', ' ')} `.includes(` ${marker} `)) return true
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8')
    if (environ === '' && (Number(fields[6]) & KERNEL_THREAD_FLAG) === 0 && startedLately(fields)) {
      return 'between-images'
    }
    return `\0${environ}`.includes(`\0${MARKER_VARIABLE}=${marker}\0`)
  } catch {
    return false
  }
}

export function isZombie(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

/** Set in the environment of every process the stack starts. */
export const MARKER_VARIABLE = 'VEHICLES_STACK_MARKER'

/**
 * The live process that carries `marker` and whose parent does not (children such as postgres backends
 * or nginx workers inherit the marker variable), if any.
 */
export function findByMarker(marker: string): number | undefined {
  const matches = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => pid !== process.pid && ownsPid(pid, marker))
  const parentOf = (pid: number) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
  }
  return matches.find((pid) => {
    try {
      return !matches.includes(parentOf(pid))
    } catch {
      return false
    }
  })
}
