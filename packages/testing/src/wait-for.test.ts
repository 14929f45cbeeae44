import { expect, test } from 'bun:test'
import { waitFor } from './wait-for'

test('returns the first defined value', async () => {
  let calls = 0
  const value = await waitFor('third call', () => (++calls === 3 ? 'ready' : undefined), { intervalMs: 1 })
  expect(value).toBe('ready')
  expect(calls).toBe(3)
})

test('fails after the deadline naming what it waited for and what it saw', async () => {
  const attempt = waitFor(
    'a thing',
    () => {
      throw new Error('connection refused')
    },
    { timeoutMs: 30, intervalMs: 5 },
  )
  await expect(attempt).rejects.toThrow(/waiting for a thing; last seen: connection refused/)
})
