/**
 * JSON lines on stdout with the keys every service of the system uses (the Python estimator too):
 * time, level, service, event, message; HTTP logs add requestId. `event` is a stable dotted name
 * (`http.request`, `outbox.relay.backoff`) so logs can be filtered without parsing messages.
 */
import { writeSync } from 'node:fs'
import { Type } from '@sinclair/typebox'

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/** `LOG_LEVEL` for a config schema (TypeBox's Value functions need known kinds, hence literals). */
export const LogLevelSchema = (defaultLevel: LogLevel = 'info') =>
  Type.Union(
    LOG_LEVELS.map((level) => Type.Literal(level)),
    { default: defaultLevel, description: LOG_LEVELS.join(', ') },
  )
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export type LogFields = Record<string, unknown>

export interface Logger {
  readonly service: string
  debug(event: string, message: string, fields?: LogFields): void
  info(event: string, message: string, fields?: LogFields): void
  warn(event: string, message: string, fields?: LogFields): void
  error(event: string, message: string, fields?: LogFields): void
  enabled(level: LogLevel): boolean
  /** A logger that adds `fields` (e.g. `{ requestId }`) to every line. */
  child(fields: LogFields): Logger
}

export interface LoggerOptions {
  service: string
  level?: LogLevel
  /** Where lines go; stdout by default. Tests pass an array sink. */
  write?: (line: string) => void
}

/**
 * Lines written in one turn of the event loop leave in one write: under load that is one system call
 * for many access-log lines instead of one each. `exit` flushes what is left synchronously, so a normal
 * exit (including after SIGTERM) loses nothing.
 */
let pending: string[] = []
let scheduled = false
const flush = () => {
  scheduled = false
  if (pending.length === 0) return
  const text = pending.join('')
  pending = []
  process.stdout.write(text)
}
process.on('exit', () => {
  if (pending.length > 0) writeSync(1, pending.join(''))
  pending = []
})
const stdoutWrite = (line: string) => {
  pending.push(line)
  if (!scheduled) {
    scheduled = true
    setImmediate(flush)
  }
}

/** Errors do not serialise with JSON.stringify; keep name and message (never a stack in a response). */
function plain(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message }
  return value
}

export function createLogger(options: LoggerOptions): Logger {
  const threshold = RANK[options.level ?? 'info']
  const write = options.write ?? stdoutWrite
  const build = (bound: LogFields): Logger => {
    const log = (level: LogLevel, event: string, message: string, fields?: LogFields) => {
      if (RANK[level] < threshold) return
      const record: LogFields = {
        time: new Date().toISOString(),
        level,
        service: options.service,
        event,
        message,
      }
      for (const [key, value] of Object.entries(bound)) if (!(key in record)) record[key] = value
      if (fields !== undefined) {
        for (const [key, value] of Object.entries(fields)) if (!(key in record)) record[key] = plain(value)
      }
      write(`${JSON.stringify(record)}\n`)
    }
    return {
      service: options.service,
      debug: (event, message, fields) => log('debug', event, message, fields),
      info: (event, message, fields) => log('info', event, message, fields),
      warn: (event, message, fields) => log('warn', event, message, fields),
      error: (event, message, fields) => log('error', event, message, fields),
      enabled: (level) => RANK[level] >= threshold,
      child: (fields) => build({ ...bound, ...fields }),
    }
  }
  return build({})
}
