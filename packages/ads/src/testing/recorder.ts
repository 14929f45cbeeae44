/**
 * In-memory log and metrics for tests: what the projection reported, to assert on and to print on
 * failure. Here, not in packages/testing, because it implements this package's projection interfaces.
 */
import type { UpsertOutcome } from '../ads/repository'
import type { PoisonReason, ProjectionLog, ProjectionMetrics } from '../projection/projector'

export interface Recorded {
  level: 'info' | 'warn' | 'error'
  event: string
  message: string
  fields?: Record<string, unknown>
}

export function recorder() {
  const logs: Recorded[] = []
  const counts = { applied: 0, stale: 0, retries: 0, dlq: [] as PoisonReason[], paused: [] as boolean[] }
  const log: ProjectionLog = {
    info: (event, message, fields) => logs.push({ level: 'info', event, message, fields }),
    warn: (event, message, fields) => logs.push({ level: 'warn', event, message, fields }),
    error: (event, message, fields) => logs.push({ level: 'error', event, message, fields }),
  }
  const metrics: ProjectionMetrics = {
    upserted: (outcome: UpsertOutcome) => {
      counts[outcome]++
    },
    deadLettered: (reason) => counts.dlq.push(reason),
    storeRetried: () => {
      counts.retries++
    },
    paused: (isPaused) => counts.paused.push(isPaused),
  }
  return { logs, counts, log, metrics }
}
