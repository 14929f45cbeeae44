/**
 * Runs tasks for the same key one after another, tasks for different keys concurrently.
 *
 * Why: FerretDB implements an upsert as read-then-write without a transaction, so two concurrent
 * upserts of one `_id` can both see "no document" (one then fails with a duplicate key) or both see the
 * old version and overwrite each other — the guard in the filter is checked on a stale read. Serialising
 * writes per key inside the process removes that race; across processes, Kafka gives each partition (and
 * so each vehicle id) to one consumer at a time.
 */
export class KeyLanes {
  private readonly tails = new Map<string, Promise<unknown>>()

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve()
    // Start after the previous task settles, whether it resolved or threw: one failure must not block
    // the lane, the caller of the failed task already got its error.
    const result = previous.then(task, task)
    const tail = result.catch(() => undefined)
    this.tails.set(key, tail)
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key)
    })
    return result
  }

  /**
   * Runs `task` once the previous tasks of every key in `keys` settled, and holds all of those keys
   * until it settles (a batch write touching many ads).
   */
  runAll<T>(keys: readonly string[], task: () => Promise<T>): Promise<T> {
    const unique = [...new Set(keys)]
    const previous = unique.map((key) => this.tails.get(key)).filter((tail) => tail !== undefined)
    const result = (previous.length === 0 ? Promise.resolve() : Promise.all(previous)).then(task, task)
    const tail = result.catch(() => undefined)
    for (const key of unique) this.tails.set(key, tail)
    void tail.then(() => {
      for (const key of unique) if (this.tails.get(key) === tail) this.tails.delete(key)
    })
    return result
  }

  /** Keys with a task queued or running (for tests and metrics). */
  get size(): number {
    return this.tails.size
  }
}
