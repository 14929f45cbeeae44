/**
 * An open-loop load: the i-th call starts at `i / rate` seconds after the first, whether or not the
 * earlier ones have finished (a closed loop, which waits, would hide the very latency it measures).
 */
export async function openLoop<T>(
  count: number,
  rate: number,
  start: (i: number) => Promise<T>,
): Promise<T[]> {
  const started = performance.now()
  const pending: Promise<T>[] = []
  for (let i = 0; i < count; i++) {
    const wait = started + (i * 1000) / rate - performance.now()
    if (wait > 1) await Bun.sleep(wait)
    pending.push(start(i))
  }
  return await Promise.all(pending)
}
