/**
 * Runs vehicles-stock as a real process (`bun src/main.ts`), as it runs in production: own config from
 * the environment, own signal handling. Tests talk to it over HTTP and can SIGTERM or SIGKILL it. It
 * stays beside this package (not in packages/testing) because it knows this service: its entry file,
 * its start-up log line, its POST body.
 */
import { join } from 'node:path'
import { forEachLine, waitFor } from '@vehicles/testing'

const PACKAGE_DIR = join(import.meta.dir, '..', '..')

export interface StockProcess {
  url: string
  pid: number
  /** Every log line so far, parsed. */
  logs(): Record<string, unknown>[]
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: 'SIGTERM' | 'SIGKILL', timeoutMs?: number): Promise<number>
  exited: Promise<number>
  metric(name: string): Promise<number>
}

export async function startStock(env: Record<string, string>, timeoutMs = 60_000): Promise<StockProcess> {
  const proc = Bun.spawn(['bun', 'src/main.ts'], {
    cwd: PACKAGE_DIR,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      PORT: '0',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const lines: string[] = []
  const errors: string[] = []
  const pumped = Promise.all([
    forEachLine(proc.stdout, (line) => lines.push(line)),
    forEachLine(proc.stderr, (line) => errors.push(line)),
  ])
  const logs = () =>
    lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>]
      } catch {
        return [{ raw: line }]
      }
    })
  let exitedCode: number | undefined
  let stopping = false
  const exited = proc.exited.then(async (code) => {
    exitedCode = code
    await pumped
    // A test that did not stop the process sees only its own symptom (a refused connection, a
    // reset): print what the service said last, so a failure names its cause.
    if (!stopping)
      console.error(
        `vehicles-stock (pid ${proc.pid}) exited ${code} on its own; its last output:\n` +
          [...lines.slice(-40), ...errors.slice(-40)].join('\n'),
      )
    return code
  })
  // The start-up line is at info: a LOG_LEVEL above that would hide it from this helper.
  if (env.LOG_LEVEL === 'warn' || env.LOG_LEVEL === 'error')
    throw new Error('startStock needs LOG_LEVEL info or debug')
  const port = await waitFor(
    `vehicles-stock (pid ${proc.pid}) to listen`,
    () => {
      if (exitedCode !== undefined)
        throw new Error(`exited ${exitedCode} before listening:\n${[...lines, ...errors].join('\n')}`)
      const line = logs().find((l) => l.event === 'startup.listening')
      return typeof line?.port === 'number' ? line.port : undefined
    },
    { timeoutMs, intervalMs: 50 },
  )
  const url = `http://127.0.0.1:${port}`
  return {
    url,
    pid: proc.pid,
    logs,
    exited,
    async stop(signal = 'SIGTERM', stopTimeoutMs = 30_000) {
      if (exitedCode !== undefined) return exitedCode
      stopping = true
      proc.kill(signal)
      const timer = setTimeout(() => proc.kill('SIGKILL'), stopTimeoutMs)
      const code = await exited
      clearTimeout(timer)
      return code
    },
    async metric(name: string) {
      const text = await (await fetch(`${url}/metrics`)).text()
      const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
      return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(' ') + 1))
    },
  }
}

/** A valid POST /stock body with a VIN unique to this run (17 chars, no I/O/Q). */
export function vehicleBody(n: number, over: Record<string, unknown> = {}) {
  const alphabet = '0123456789ABCDEFGHJKLMNPRSTUVWXYZ'
  let suffix = ''
  let value = Date.now() * 1000 + Math.floor(Math.random() * 1000) + n * 7919
  for (let i = 0; i < 11; i++) {
    suffix = alphabet[value % alphabet.length] + suffix
    value = Math.floor(value / alphabet.length)
  }
  return {
    vin: `T${String(n % 100_000).padStart(5, '0')}${suffix}`,
    manufacturer: 'Peugeot',
    model: '208',
    year: 2022,
    odometer: 12_000,
    odometerUnit: 'km',
    ...over,
  }
}

export async function postVehicle(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/stock`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await response.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: response.status, json, text, headers: response.headers }
}
