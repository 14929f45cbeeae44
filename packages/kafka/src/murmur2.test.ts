import { describe, expect, test } from 'bun:test'
import { murmur2, partitionForKey } from './murmur2'

const encode = (s: string) => new TextEncoder().encode(s)

describe('murmur2', () => {
  // Expected values from Apache Kafka's UtilsTest (Java Utils.murmur2) and the same cases other
  // Java-compatible ports check; lengths cover every tail size (0-3 trailing bytes).
  const javaVectors: Record<string, number> = {
    '1': -1993445489,
    '12': 126087238,
    '123': -267702483,
    '1234': -1614185708,
    '12345': -1188365604,
    '21': -973932308,
    foobar: -790332482,
    abc: 479470107,
    'a-little-bit-long-string': -985981536,
    'a-little-bit-longer-string': -1486304829,
    lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8: -58897971,
  }
  for (const [key, expected] of Object.entries(javaVectors)) {
    test(`"${key}" hashes like Java`, () => {
      expect(murmur2(encode(key))).toBe(expected)
    })
  }

  test('partition is toPositive(hash) % n, not an unsigned reinterpretation', () => {
    // "1" hashes negative: Java masks the sign bit, so (h & 0x7fffffff) % 6; `h >>> 0` would differ.
    const h = -1993445489
    expect(partitionForKey('1', 6)).toBe((h & 0x7fffffff) % 6)
    expect(partitionForKey('1', 6)).not.toBe((h >>> 0) % 6)
  })

  test('rejects a partition count that is not a positive integer', () => {
    expect(() => partitionForKey('k', 0)).toThrow(RangeError)
    expect(() => partitionForKey('k', 1.5)).toThrow(RangeError)
  })
})
