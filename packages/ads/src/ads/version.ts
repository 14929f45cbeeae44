/**
 * The order in which processed events of one vehicle supersede each other: by the event's `occurredAt`,
 * then by `eventId` (docs/architecture.md). Encoded as one string whose lexical order is that order, so
 * the database can compare it in the update filter (`version < incoming`) without reading first.
 */

const OFFSET_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i

/**
 * `2026-11-25T10:00:00.123456+01:00` → `2026-11-25T09:00:00.123456000Z`. Fractions keep nine digits
 * because the estimator (Python) writes microseconds: truncating to milliseconds would tie two events a
 * few microseconds apart and leave their order to the event id.
 */
export function normaliseInstant(value: string): string {
  const match = OFFSET_TIME.exec(value)
  if (match === null) throw new RangeError(`"${value}" is not an RFC 3339 date-time`)
  const [, seconds = '', fraction = '', zone = 'Z'] = match
  const whole = new Date(`${seconds}${zone.toUpperCase()}`)
  if (Number.isNaN(whole.getTime())) throw new RangeError(`"${value}" is not a valid date-time`)
  const utcSeconds = whole.toISOString().slice(0, 19)
  return `${utcSeconds}.${fraction.padEnd(9, '0')}Z`
}

/** The version key stored on an ad; greater means newer. */
export function versionKey(occurredAt: string, eventId: string): string {
  return `${normaliseInstant(occurredAt)}|${eventId.toLowerCase()}`
}
