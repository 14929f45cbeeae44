/**
 * runBatches: what was fetched for a partition is handed out as one batch, in offset order, one batch at
 * a time per partition; one commit per batch, after the handler resolved; a batch whose handler threw
 * comes back whole (same offsets, attempt + 1) and nothing of it is committed before it succeeds.
 */
import { expect, test } from 'bun:test'
import { waitFor } from '@vehicles/testing'
import { numberedRecords, testConsumer, topicFixture, uniqueName } from '@vehicles/testing/kafka'
import type { ConsumedBatch } from './types'

const kafka = topicFixture('batch')
const { topic } = kafka

const records = (from: number, to: number) => numberedRecords(topic, from, to)

test('batches per partition, in offset order, one commit per batch; a failed batch comes back whole', async () => {
  const group = uniqueName('group')
  const batches: ConsumedBatch[] = []
  let failedOnce: string | undefined
  let inFlight = new Map<number, number>()
  let overlapping = false
  const consumer = testConsumer([topic], {
    groupId: group,
    retryBackoffMs: 50,
    maxBatchSize: 40,
  })
  // Everything is on the topic before the member joins: the first fetch returns many per partition.
  await kafka.producer.send(records(0, 600))
  try {
    await consumer.runBatches(async (batch) => {
      const running = inFlight.get(batch.partition) ?? 0
      if (running > 0) overlapping = true
      inFlight.set(batch.partition, running + 1)
      try {
        await Bun.sleep(5)
        // The first batch of partition 0 fails once: it must come back with the same offsets.
        const first = batch.messages[0]?.offset
        if (batch.partition === 0 && failedOnce === undefined) {
          failedOnce = `${first}-${batch.messages.length}`
          throw new Error('injected failure')
        }
        batches.push(batch)
      } finally {
        inFlight.set(batch.partition, (inFlight.get(batch.partition) ?? 1) - 1)
      }
    })
    await waitFor(
      'all 600 messages in resolved batches',
      () => {
        const count = batches.reduce((n, b) => n + b.messages.length, 0)
        if (count >= 600) return true
        throw new Error(`${count} so far in ${batches.length} batches`)
      },
      { timeoutMs: 60_000, intervalMs: 50 },
    )
    await waitFor(
      'the group to have committed every offset',
      async () => {
        const lag = await kafka.admin.groupLag(group, [topic])
        if (lag.every((p) => p.lag === 0)) return true
        throw new Error(lag.map((p) => `p${p.partition} ${p.committed}/${p.end}`).join(', '))
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    )
  } finally {
    await consumer.close()
    inFlight = new Map()
  }

  expect(overlapping).toBe(false)
  // Each message exactly once among the resolved batches, and each partition's offsets in order.
  const values = batches.flatMap((b) => b.messages.map((m) => Number(m.value.toString())))
  expect(values.length).toBe(600)
  expect(new Set(values).size).toBe(600)
  for (let partition = 0; partition < 6; partition++) {
    const offsets = batches
      .filter((b) => b.partition === partition)
      .flatMap((b) => b.messages.map((m) => Number(m.offset)))
    expect(offsets).toEqual(offsets.map((_, i) => i))
  }
  // Batched for real (the messages were waiting), and never over the bound.
  expect(Math.max(...batches.map((b) => b.messages.length))).toBeGreaterThan(1)
  expect(Math.max(...batches.map((b) => b.messages.length))).toBeLessThanOrEqual(40)
  // The failed batch came back with the same first offset and size, as attempt 2.
  const retried = batches.find((b) => b.partition === 0 && b.attempt === 2)
  expect(
    retried === undefined ? undefined : `${retried.messages[0]?.offset}-${retried.messages.length}`,
  ).toBe(failedOnce)
  expect(retried?.messages.every((m) => m.attempt === 2)).toBe(true)
}, 120_000)
