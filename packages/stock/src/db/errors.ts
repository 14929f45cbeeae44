/**
 * Database failures as the service needs to tell them apart: a unique violation (a conflict the client
 * caused) versus the database being unreachable (503, retry later). postgres.js and PGlite both carry
 * the SQLSTATE in `code`; connection failures carry a Node-style code. drizzle wraps errors in `cause`.
 */

interface Coded {
  code?: unknown
  constraint_name?: unknown
  constraint?: unknown
  cause?: unknown
}

function* chain(error: unknown): Generator<Coded> {
  let current: unknown = error
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    yield current as Coded
    current = (current as Coded).cause
  }
}

/** Unique violation (23505), optionally of one constraint/index. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  for (const e of chain(error)) {
    if (e.code === '23505') {
      if (constraint === undefined) return true
      return e.constraint_name === constraint || e.constraint === constraint
    }
  }
  return false
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down)
  '53300', // too_many_connections
  '40001', // serialization_failure: retrying helps
  '40P01', // deadlock_detected: retrying helps
])

/** The database cannot answer now (down, restarting, out of connections): a 503, not a 500. */
export function isUnavailable(error: unknown): boolean {
  for (const e of chain(error)) {
    if (typeof e.code === 'string' && (UNAVAILABLE_CODES.has(e.code) || e.code.startsWith('08'))) return true
  }
  return false
}

/**
 * Text PostgreSQL cannot store: invalid text representation (22P02, e.g. a lone surrogate escaped in a
 * `::jsonb` cast), a character not representable in the server encoding (22021: NUL, broken UTF-8) and an
 * untranslatable character (22P05). The client sent it: a 400, never a 500.
 */
const INVALID_TEXT_CODES = new Set(['22P02', '22021', '22P05'])

/** The SQLSTATE (or driver code) of a database error, if the error carries one. */
export function sqlState(error: unknown): string | undefined {
  for (const e of chain(error)) if (typeof e.code === 'string') return e.code
  return undefined
}

export const isInvalidText = (error: unknown): boolean => INVALID_TEXT_CODES.has(sqlState(error) ?? '')

// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is what PostgreSQL refuses in text.
const UNSTORABLE = /\u0000|[\ud800-\udfff]/u

/**
 * The field of `values` that PostgreSQL could not store: the first text holding NUL or a lone surrogate
 * (with the `u` flag the class matches only surrogates that are not half of a pair). "" when none does.
 */
export function unstorableField(values: Readonly<Record<string, unknown>>): string {
  for (const [field, value] of Object.entries(values)) {
    if (typeof value === 'string' && UNSTORABLE.test(value)) return field
  }
  return ''
}
