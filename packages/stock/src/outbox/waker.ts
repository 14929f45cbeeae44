/**
 * The relay's idle wait: sleeps until a timeout or a wake-up (a NOTIFY from an inserting statement).
 * A wake that comes while the relay is busy is kept and ends the next sleep at once, so no insert
 * waits for the polling interval.
 */
export function createWaker(isStopping: () => boolean) {
  let woken = false
  const waiters = new Set<() => void>()
  return {
    wake() {
      woken = true
      for (const waiter of [...waiters]) waiter()
    },
    sleep(ms: number) {
      return new Promise<void>((resolve) => {
        if (woken || isStopping()) {
          woken = false
          resolve()
          return
        }
        const timer = setTimeout(done, ms)
        function done() {
          clearTimeout(timer)
          waiters.delete(done)
          woken = false
          resolve()
        }
        waiters.add(done)
      })
    },
  }
}
