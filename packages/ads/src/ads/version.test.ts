import { describe, expect, test } from 'bun:test'
import { normaliseInstant, versionKey } from './version'

describe('normaliseInstant', () => {
  test('moves offsets to UTC and keeps sub-millisecond digits', () => {
    expect(normaliseInstant('2026-11-25T10:00:00.123456+01:00')).toBe('2026-11-25T09:00:00.123456000Z')
    expect(normaliseInstant('2026-11-25T10:00:00Z')).toBe('2026-11-25T10:00:00.000000000Z')
    expect(normaliseInstant('2026-11-25t10:00:00.5z')).toBe('2026-11-25T10:00:00.500000000Z')
  })

  test('refuses what is not a date-time', () => {
    expect(() => normaliseInstant('yesterday')).toThrow(/not an RFC 3339 date-time/)
    expect(() => normaliseInstant('2026-13-45T10:00:00Z')).toThrow(/not a valid date-time/)
  })
})

describe('versionKey', () => {
  test('orders by instant first, across offsets and fraction lengths', () => {
    const earlier = versionKey('2026-11-25T09:59:59.9+00:00', 'ffffffff-0000-4000-8000-000000000000')
    const later = versionKey('2026-11-25T11:00:00.1+01:00', '00000000-0000-4000-8000-000000000000')
    const latest = versionKey('2026-11-25T10:00:00.100001Z', '00000000-0000-4000-8000-000000000000')
    expect(earlier < later).toBe(true)
    expect(later < latest).toBe(true)
  })

  test('breaks a tie on the instant by event id', () => {
    const a = versionKey('2026-11-25T10:00:00Z', '0a000000-0000-4000-8000-000000000000')
    const b = versionKey('2026-11-25T10:00:00.000Z', '0B000000-0000-4000-8000-000000000000')
    expect(a < b).toBe(true)
  })
})
