/**
 * What every fault case must show at the end: the same vehicles everywhere, once, each with one price and
 * one answer, no server error. A
 * service that exited under the fault and was started again by the harness (as compose's restart policy
 * would) is allowed: it is printed on the case's line.
 */
import { expect } from 'bun:test'
import type { FaultFigures } from './fault-case'

export function expectClean(figures: FaultFigures, expectedDlq = 0) {
  const why = `${figures.line}\n${figures.books}`
  const { load, result } = figures
  expect(
    {
      posted: load.posted,
      created: load.created,
      serverErrors: load.serverErrors,
      abandoned: load.abandoned,
    },
    why,
  ).toEqual({
    posted: load.posted,
    created: load.posted,
    serverErrors: 0,
    abandoned: 0,
  })
  expect({ lost: figures.lost, duplicated: figures.duplicated }, why).toEqual({ lost: 0, duplicated: 0 })
  expect(result.vehicles, why).toBeGreaterThanOrEqual(load.created)
  expect(result.halfWritten, why).toEqual([])
  expect(result.unpriced, why).toEqual([])
  expect(result.repriced, `re-priced (two prices or two answers for one vehicle): ${why}`).toEqual([])
  expect(result.dlq, why).toBe(expectedDlq)
  expect(figures.recoverySeconds, why).toBeDefined()
}
