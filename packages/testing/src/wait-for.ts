export interface WaitOptions {
  timeoutMs?: number
  intervalMs?: number
}

/**
 * Polls `probe` until it returns a value other than `undefined`, or fails after the deadline with
 * what it last saw, so a failing test says why.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  { timeoutMs = 30_000, intervalMs = 100 }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastSeen: unknown
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined) return value
      lastSeen = 'nothing yet'
    } catch (error) {
      lastSeen = error instanceof Error ? error.message : error
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${String(lastSeen)}`)
    }
    await Bun.sleep(intervalMs)
  }
}
