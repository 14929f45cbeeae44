/**
 * Partition lanes: the messages fetched for one assigned partition, handed to the handler one at a
 * time (or one batch at a time) in offset order; partitions run concurrently. A message is committed
 * only after its handler resolved; a handler that throws gets the same message again after the
 * back-off (never skipped). Independent of the client library: the consumer feeds and commits.
 */
import { KafkaError } from '../errors'
import type { BatchHandler, ConsumedMessage, ConsumerErrorContext, MessageHandler } from '../types'

export type Handling = { kind: 'message'; handle: MessageHandler } | { kind: 'batch'; handle: BatchHandler }
/** As fetched: `attempt` is 1; a retry hands the handler a copy with the attempt it is. */
export type Fetched = ConsumedMessage

export interface Lane {
  topic: string
  partition: number
  queue: Fetched[]
  /** Highest offset queued here: a re-fetch (after a seek) re-sends older ones, which are dropped. */
  highest: number
  worker: Promise<void> | undefined
  /** Taken away (rebalance, consumer restart): finishes its current handler, then stops. */
  revoked: boolean
}

export interface LaneHost {
  handling(): Handling | undefined
  closing(): boolean
  isPaused(lane: Lane): boolean
  retryBackoffMs: number
  maxBatch: number
  /**
   * The handler finished `last` (and everything before it in the lane); `count` of them were still
   * queued and leave the buffer now (0 when the lane was emptied meanwhile by a revocation or a drop).
   */
  finished(lane: Lane, last: Fetched, count: number): void
  report(error: unknown, context: ConsumerErrorContext): void
}

export const slotOf = (topic: string, partition: number) => `${topic}:${partition}`

export function newLane(topic: string, partition: number): Lane {
  return { topic, partition, queue: [], highest: -1, worker: undefined, revoked: false }
}

/** Sleeps that pause/close/revoke cut short, so a retry back-off never delays them. */
export class Sleepers {
  private readonly wakes = new Set<() => void>()
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer)
        this.wakes.delete(wake)
        resolve()
      }
      const timer = setTimeout(wake, ms)
      this.wakes.add(wake)
    })
  }
  wakeAll(): void {
    for (const wake of [...this.wakes]) wake()
  }
}

export function createLaneRunner(host: LaneHost, sleepers: Sleepers) {
  const stopped = (lane: Lane) => host.closing() || lane.revoked || host.isPaused(lane)

  async function work(lane: Lane): Promise<void> {
    while (!stopped(lane)) {
      const first = lane.queue[0]
      const handling = host.handling()
      if (first === undefined || handling === undefined) return
      // A batch handler gets everything waiting for the partition (bounded); a message handler one.
      const taken = handling.kind === 'batch' ? lane.queue.slice(0, host.maxBatch) : [first]
      const last = taken[taken.length - 1] ?? first
      for (let attempt = 1; ; attempt++) {
        try {
          if (handling.kind === 'batch') {
            const messages = attempt === 1 ? taken : taken.map((m) => ({ ...m, attempt }))
            await handling.handle({ topic: lane.topic, partition: lane.partition, messages, attempt })
          } else {
            await handling.handle(attempt === 1 ? first : { ...first, attempt })
          }
          break
        } catch (error) {
          host.report(error instanceof Error ? error : new KafkaError(String(error)), {
            stage: 'handler',
            topic: lane.topic,
            partition: lane.partition,
            offset: first.offset,
            attempt,
          })
          // Not committed and not dropped: the same messages come back, here or in the next owner.
          if (stopped(lane)) return
          await sleepers.sleep(host.retryBackoffMs)
          if (stopped(lane)) return
        }
      }
      // A lane revoked or dropped meanwhile had its queue emptied and counted out already: what the
      // handler took is released here only if it is still queued (counted once either way). `shift`
      // for the one-message case, the per-message path: `splice` would allocate an array per message.
      const removed = lane.queue[0] === first ? taken.length : 0
      if (removed === 1) lane.queue.shift()
      else if (removed > 1) lane.queue.splice(0, removed)
      host.finished(lane, last, removed)
    }
  }

  function kick(lane: Lane): void {
    if (lane.worker !== undefined || stopped(lane) || lane.queue.length === 0) return
    lane.worker = work(lane)
      .catch((error: unknown) =>
        host.report(error, { stage: 'consumer', topic: lane.topic, partition: lane.partition }),
      )
      .finally(() => {
        lane.worker = undefined
        kick(lane)
      })
  }

  return { kick }
}
