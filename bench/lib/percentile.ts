/**
 * The benches' percentile: nearest rank over an ascending list (the smallest value with at least p % of
 * the samples at or below it), so every reported figure is one that was measured; NaN for no samples.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return (
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN
  )
}

/** The median of an unsorted list (nearest rank, like `percentile`); NaN for no samples. */
export const median = (values: readonly number[]): number =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  )
