import { expect, test } from 'bun:test'
import { waitFor } from '@vehicles/testing'
import { testConsumer, topicFixture, uniqueName } from '@vehicles/testing/kafka'
import type { Consumer } from './types'

/**
 * `Consumer.ownership()` against the stack's brokers: what a lone member holds, and that another
 * member's arrival and departure both show in `changes` even when the lone member ends up holding
 * everything again (the ads service skips its list reloads on exactly that condition).
 */
// A group joins slowly on brokers that have just started: the waits allow a minute each.
const kafka = topicFixture('ownership')

/** Waits until `consumer` holds all 6 partitions of the topic; resolves with its ownership then. */
const holdingAll = (consumer: Consumer, what: string) =>
  waitFor(
    what,
    async () => {
      const now = await consumer.ownership()
      return now.owned === 6 ? now : undefined
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  )

test('a lone member holds every partition; another member joining and leaving moves `changes` both times', async () => {
  const group = uniqueName('group')
  const first = testConsumer([kafka.topic], { groupId: group, sessionTimeoutMs: 10_000 })
  await first.run(async () => {})
  const alone = await holdingAll(first, 'the first member to hold all 6 partitions')
  expect(alone.total).toBe(6)
  expect((await first.ownership()).changes).toBe(alone.changes)
  const second = testConsumer([kafka.topic], { groupId: group, sessionTimeoutMs: 10_000 })
  await second.run(async () => {})
  const shared = await waitFor(
    'the partitions to be shared',
    async () => {
      const [a, b] = await Promise.all([first.ownership(), second.ownership()])
      return a.owned + b.owned === 6 && b.owned > 0 ? { a, b } : undefined
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  )
  expect(shared.a.changes).toBeGreaterThan(alone.changes)
  await second.close()
  const again = await holdingAll(first, 'the first member to hold all 6 again')
  expect(again.changes).toBeGreaterThan(shared.a.changes)
  await first.close()
}, 200_000)
