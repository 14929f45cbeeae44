/**
 * Kafka's Java-compatible murmur2 partitioner (`Utils.murmur2`, `toPositive(hash) % numPartitions`), the
 * same function librdkafka calls `murmur2_random` for keyed records. Every producer of the system uses it,
 * so a vehicle id lands on the same partition whichever language wrote it (known-traps #13).
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length
  const seed = 0x9747b28c
  const m = 0x5bd1e995
  const r = 24
  let h = (seed ^ length) | 0
  const length4 = length >>> 2
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4
    let k =
      (data[i4] as number) |
      ((data[i4 + 1] as number) << 8) |
      ((data[i4 + 2] as number) << 16) |
      ((data[i4 + 3] as number) << 24)
    k = Math.imul(k, m)
    k ^= k >>> r
    k = Math.imul(k, m)
    h = Math.imul(h, m)
    h ^= k
  }
  const rest = length & 3
  const tail = length & ~3
  if (rest === 3) h ^= (data[tail + 2] as number) << 16
  if (rest >= 2) h ^= (data[tail + 1] as number) << 8
  if (rest >= 1) {
    h ^= data[tail] as number
    h = Math.imul(h, m)
  }
  h ^= h >>> 13
  h = Math.imul(h, m)
  h ^= h >>> 15
  return h | 0
}

const encoder = new TextEncoder()

/** Partition of a key the way Java's DefaultPartitioner / librdkafka's murmur2_random compute it. */
export function partitionForKey(key: string | Uint8Array, partitionCount: number): number {
  if (!Number.isInteger(partitionCount) || partitionCount <= 0) {
    throw new RangeError(`partitionCount must be a positive integer, got ${partitionCount}`)
  }
  const bytes = typeof key === 'string' ? encoder.encode(key) : key
  // Java's toPositive: clear the sign bit (not Math.abs, which differs for Integer.MIN_VALUE).
  return (murmur2(bytes) & 0x7fffffff) % partitionCount
}
