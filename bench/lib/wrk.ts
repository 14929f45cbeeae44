/**
 * wrk (the HTTP load generator) as a function: runs it, parses its report (throughput, latency
 * percentiles, errors) and keeps the raw text for when a figure looks wrong.
 */
export interface WrkOptions {
  url: string
  durationSeconds: number
  connections: number
  threads: number
  /** A Lua script (bench/stock-post/post.lua) and the arguments it gets after `--`. */
  script?: string
  scriptArgs?: string[]
  timeoutSeconds?: number
}

export interface WrkResult {
  requests: number
  seconds: number
  rps: number
  p50Ms: number
  p75Ms: number
  p90Ms: number
  p99Ms: number
  non2xx: number
  socketErrors: number
  raw: string
}

/** "1.23ms", "456.00us", "1.02s", "1.50m" → milliseconds. */
export function toMs(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim())
  if (match === null) return Number.NaN
  const value = Number(match[1])
  const unit = match[2]
  return unit === 'us' ? value / 1000 : unit === 'ms' ? value : unit === 's' ? value * 1000 : value * 60_000
}

export function parseWrk(raw: string): WrkResult {
  const percentile = (p: string) => toMs(new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(raw)?.[1] ?? '')
  const done = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(raw)
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(raw)
  return {
    requests: Number(done?.[1] ?? Number.NaN),
    seconds: done === null ? Number.NaN : toMs(`${done[2]}${done[3]}`) / 1000,
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(raw)?.[1] ?? Number.NaN),
    p50Ms: percentile('50'),
    p75Ms: percentile('75'),
    p90Ms: percentile('90'),
    p99Ms: percentile('99'),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(raw)?.[1] ?? 0),
    socketErrors: socket === null ? 0 : socket.slice(1).reduce((sum, n) => sum + Number(n), 0),
    raw,
  }
}

export async function wrk(options: WrkOptions): Promise<WrkResult> {
  const argv = [
    'wrk',
    `-t${options.threads}`,
    `-c${options.connections}`,
    `-d${options.durationSeconds}s`,
    '--timeout',
    `${options.timeoutSeconds ?? 10}s`,
    '--latency',
    ...(options.script === undefined ? [] : ['-s', options.script]),
    options.url,
    ...(options.scriptArgs === undefined ? [] : ['--', ...options.scriptArgs]),
  ]
  const child = Bun.spawn(argv, { stdout: 'pipe', stderr: 'pipe' })
  const [out, err, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ])
  if (code !== 0) throw new Error(`wrk exited ${code}: ${err.trim() || out.trim()}`)
  const result = parseWrk(out)
  if (!Number.isFinite(result.rps)) throw new Error(`cannot read wrk's report:\n${out}\n${err}`)
  return result
}
