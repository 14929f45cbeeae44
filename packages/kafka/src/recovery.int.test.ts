import { expect, test } from 'bun:test'
import { waitFor } from '@vehicles/testing'
import { collector, numberedRecords, topicFixture, uniqueName } from '@vehicles/testing/kafka'
import { createConsumer, kInjectStreamError } from './consumer'
import type { KafkaError } from './errors'
import type { ConsumerErrorContext } from './types'

/**
 * The library gives its fetch stream up after a few failed fetches (seen when a broker is killed: "fetch
 * failed 6 times"). The consumer must not stay dead: it starts a new session and goes on from the
 * committed offsets. The failure is injected into the stream, the way a dead broker ends it; killing a
 * broker of the shared stack is the fault suite's job.
 */
const kafka = topicFixture('recovery')
const { brokers, topic } = kafka

const batch = (from: number, to: number) => numberedRecords(topic, from, to)

test('a consumer whose fetch stream dies starts over on the same member, at once, and loses nothing', async () => {
  const errors: { error: KafkaError; context: ConsumerErrorContext }[] = []
  const recovered: { stoppedMs: number; sameMember: boolean }[] = []
  const seen = collector()
  const consumer = createConsumer({
    brokers,
    clientId: uniqueName('consumer'),
    groupId: uniqueName('group'),
    topics: [topic],
    readCommitted: true,
    fromBeginning: true,
    // The service default: a new member would wait up to this long for the old one to expire.
    sessionTimeoutMs: 30_000,
    onError: (error, context) => errors.push({ error, context }),
    onRecovered: (info) => recovered.push(info),
  })
  try {
    await kafka.producer.send(batch(0, 30))
    await consumer.run(seen.handler)
    await seen.until(30)
    await consumer.ping()
    const member = consumer.memberId
    expect(member).toBeString()

    consumer[kInjectStreamError](new Error('Connection to 127.0.0.1:19094 failed (injected)'))
    await waitFor('the failure to be reported', () => (errors.length > 0 ? true : undefined))
    expect(errors[0]?.context.stage).toBe('consumer')
    expect(errors[0]?.error.message).toContain('injected')
    // Not ready while it restarts (or already recovered: either is honest, never a stale "ready").
    await kafka.producer.send(batch(30, 60))

    await waitFor(
      'all 60 values after the restart',
      () => {
        const distinct = new Set(seen.messages.map((m) => m.value.toString()))
        if (distinct.size >= 60) return true
        throw new Error(`${distinct.size} distinct values so far`)
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    )
    const distinct = new Set(seen.messages.map((m) => m.value.toString()))
    expect([...distinct].map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i))
    await waitFor('ping to answer again', async () => {
      await consumer.ping()
      return true
    })
    // Same member id: the group rebalanced at once instead of waiting out the old member's session.
    expect(recovered).toHaveLength(1)
    expect(recovered[0]?.sameMember).toBe(true)
    expect(recovered[0]?.stoppedMs).toBeLessThan(10_000)
    expect(consumer.memberId).toBe(member)
  } finally {
    await consumer.close()
  }
}, 120_000)
