/**
 * What the machine was doing: load average and CPU count around each measurement (the figures only mean
 * something next to them), and the resident memory of a process, sampled while it works.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { median } from './percentile'

export interface Load {
  at: string
  load1: number
  load5: number
  load15: number
}

export function load(): Load {
  const [load1 = 0, load5 = 0, load15 = 0] = loadavg()
  return { at: new Date().toISOString(), load1, load5, load15 }
}

export const formatLoad = (l: Load) =>
  `${l.load1.toFixed(2)} / ${l.load5.toFixed(2)} / ${l.load15.toFixed(2)} (1/5/15 min) at ${l.at.slice(11, 19)} UTC`

export function machine(): string {
  const list = cpus()
  return `${list.length} × ${list[0]?.model.trim() ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Bun ${Bun.version}`
}

/** Resident set size of `pid` in MiB (VmRSS), or undefined when it is gone. */
export function rssMiB(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1]
    return kb === undefined ? undefined : Number(kb) / 1024
  } catch {
    return undefined
  }
}

/** CPU time (user + system) of `pid` in seconds, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th fields.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[11]) + Number(fields[12])
    return ticks / 100
  } catch {
    return undefined
  }
}

/** Every process this user can see: its id and its command line (arguments joined by spaces). */
export function processes(): { pid: number; command: string }[] {
  const list: { pid: number; command: string }[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      list.push({
        pid: Number(entry),
        command: readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' '),
      })
    } catch {
      // Ended between the listing and the read.
    }
  }
  return list
}

/** Seconds since `pid` started (/proc/<pid>/stat's start time against /proc/uptime), or undefined. */
export function secondsUp(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // starttime is the 22nd field, in clock ticks (100 per second on Linux) after boot.
    const started = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]) / 100
    const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0])
    return uptime - started
  } catch {
    return undefined
  }
}

/**
 * The local stack's Kafka brokers (by their `kafka-N/server.properties` argument): how long each has run
 * and the CPU time it has used, seconds.
 */
export function brokersUsage(): { secondsUp: number; cpuSeconds: number }[] {
  return processes()
    .filter((p) => /kafka-\d\/server\.properties/.test(p.command))
    .map((p) => ({ secondsUp: secondsUp(p.pid), cpuSeconds: cpuSeconds(p.pid) }))
    .filter(
      (b): b is { secondsUp: number; cpuSeconds: number } =>
        b.secondsUp !== undefined && b.cpuSeconds !== undefined,
    )
}

export interface RssStats {
  samples: number
  peakMiB: number
  meanMiB: number
  medianMiB: number
}

/** Samples the RSS of every named pid every `intervalMs` until `stop()`; then peak, mean and median per name. */
export function sampleRss(pids: () => Record<string, number | undefined>, intervalMs = 250) {
  const seen = new Map<string, number[]>()
  const tick = () => {
    for (const [name, pid] of Object.entries(pids())) {
      if (pid === undefined) continue
      const value = rssMiB(pid)
      if (value === undefined) continue
      const list = seen.get(name) ?? []
      list.push(value)
      seen.set(name, list)
    }
  }
  tick()
  const timer = setInterval(tick, intervalMs)
  return {
    stop(): Record<string, RssStats> {
      clearInterval(timer)
      tick()
      const out: Record<string, RssStats> = {}
      for (const [name, list] of seen) {
        out[name] = {
          samples: list.length,
          peakMiB: Math.max(...list),
          meanMiB: list.reduce((a, b) => a + b, 0) / list.length,
          medianMiB: median(list),
        }
      }
      return out
    },
  }
}
