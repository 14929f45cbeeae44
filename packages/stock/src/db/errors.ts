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
