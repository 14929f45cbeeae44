/**
 * Sums py-spy's raw (collapsed) output — one `frame;frame;…;leaf count` line per distinct stack — into
 * the functions that were on CPU themselves (leaf) and those that held the CPU below them (inclusive),
 * so the estimator's share of a latency can be read from a profile.
 */
export interface PySpySummary {
  samples: number
  leaf: { frame: string; samples: number; share: number }[]
  inclusive: { frame: string; samples: number; share: number }[]
}

export function summarizePySpy(raw: string, top = 12, ownPrefix = 'estimator/'): PySpySummary {
  const leaf = new Map<string, number>()
  const inclusive = new Map<string, number>()
  let samples = 0
  for (const line of raw.split('\n')) {
    const match = /^(.*) (\d+)$/.exec(line.trim())
    if (match === null) continue
    const count = Number(match[2])
    const frames = (match[1] ?? '').split(';').map((f) => f.replace(/\(\/[^)]*\/(site-packages|src)\//, '('))
    samples += count
    const last = frames.at(-1)
    if (last !== undefined) leaf.set(last, (leaf.get(last) ?? 0) + count)
    for (const frame of new Set(frames)) {
      if (frame.includes(`(${ownPrefix}`)) inclusive.set(frame, (inclusive.get(frame) ?? 0) + count)
    }
  }
  const rank = (map: Map<string, number>) =>
    [...map]
      .map(([frame, n]) => ({ frame, samples: n, share: samples === 0 ? 0 : n / samples }))
      .sort((a, b) => b.samples - a.samples)
      .slice(0, top)
  return { samples, leaf: rank(leaf), inclusive: rank(inclusive) }
}
