import { afterAll, beforeAll, expect, test } from 'bun:test'
import { waitFor } from '@vehicles/testing'
import {
  collector,
  createTestTopics,
  stackBrokers,
  testConsumer,
  topicSpec,
  uniqueName,
} from '@vehicles/testing/kafka'
import { createAdmin } from './admin'
import { createProducer } from './producer'
import type { Admin, ConsumedMessage, Consumer, Producer } from './types'

/**
 * "Commit only finished work": a message whose handler did not finish is delivered again to the next
 * member of the group; finished ones are not. One partition, so "next" is well defined.
 */
const brokers = stackBrokers()
const topic = uniqueName('commit')
let admin: Admin
let producer: Producer
let dropTopics: () => Promise<void> = async () => {}

beforeAll(async () => {
  admin = createAdmin({ brokers, clientId: uniqueName('admin') })
  await admin.connect()
  dropTopics = await createTestTopics(admin, [topicSpec(topic, { partitions: 1 })])
  producer = createProducer({ brokers, clientId: uniqueName('producer') })
  await producer.connect()
  await producer.send(
    Array.from({ length: 8 }, (_, i) => ({ topic, key: `k${i}`, value: Buffer.from(String(i)) })),
  )
})

afterAll(async () => {
  await producer?.disconnect()
  await dropTopics()
  await admin?.disconnect()
})

function consumerOf(groupId: string, extra: { retryBackoffMs?: number } = {}): Consumer {
  return testConsumer([topic], {
    groupId,
    sessionTimeoutMs: 10_000,
    ...extra,
  })
}

const values = (ms: ConsumedMessage[]) => ms.map((m) => m.value.toString())

test('a handler that keeps failing is retried (never skipped) and, after close, redelivered to the next member', async () => {
  const group = uniqueName('group')
  const handled: ConsumedMessage[] = []
  const attemptsOf3: number[] = []
  const first = consumerOf(group, { retryBackoffMs: 100 })
  await first.run(async (m) => {
    if (m.value.toString() === '3') {
      attemptsOf3.push(m.attempt)
      throw new Error('downstream is down')
    }
    handled.push(m)
  })
  await waitFor('three failed attempts of message 3', () => (attemptsOf3.length >= 3 ? true : undefined), {
    timeoutMs: 30_000,
  })
  // Nothing after the failing message ran: the partition does not advance past unfinished work.
  expect(values(handled)).toEqual(['0', '1', '2'])
  expect(attemptsOf3.slice(0, 3)).toEqual([1, 2, 3])
  // The member's own lag (no request to any broker) says the same as the group's committed offsets.
  const own = await waitFor('the member to report its lag', () => {
    const seen = first.lag()
    return seen[0]?.committed === '3' ? seen : undefined
  })
  expect(own).toEqual([{ topic, partition: 0, committed: '3', end: '8', lag: 5 }])
  await first.close()

  const lag = await admin.groupLag(group, [topic])
  expect(lag).toEqual([{ topic, partition: 0, committed: '3', end: '8', lag: 5 }])

  const seen = collector()
  const second = consumerOf(group)
  try {
    await second.run(seen.handler)
    await seen.until(5)
    expect(values(seen.messages)).toEqual(['3', '4', '5', '6', '7'])
  } finally {
    await second.close()
  }
  const after = await admin.groupLag(group, [topic])
  expect(after[0]?.committed).toBe('8')
}, 90_000)

test('close() waits for the in-flight handler and commits it', async () => {
  const group = uniqueName('group')
  let release: () => void = () => {}
  const inFlight = new Promise<void>((resolve) => {
    release = resolve
  })
  let started = false
  const finished: string[] = []
  const first = consumerOf(group)
  await first.run(async (m) => {
    if (m.value.toString() === '2') {
      started = true
      await inFlight
    }
    finished.push(m.value.toString())
  })
  await waitFor('handler of message 2 to start', () => (started ? true : undefined))
  const closing = first.close()
  // The handler is still running: close must not resolve before it does.
  const early = await Promise.race([closing.then(() => 'closed'), Bun.sleep(300).then(() => 'waiting')])
  expect(early).toBe('waiting')
  release()
  await closing
  expect(finished).toEqual(['0', '1', '2'])

  const lag = await admin.groupLag(group, [topic])
  expect(lag[0]?.committed).toBe('3')
}, 90_000)

test('a crashed member (killed, no close) leaves its unfinished message to the next member', async () => {
  const group = uniqueName('group')
  // The crashing member runs in its own process, handles 0..1, blocks in 2, and is killed with SIGKILL.
  const child = Bun.spawn(['bun', `${import.meta.dir}/fixtures/crashing-consumer.ts`, topic, group, '2'], {
    stdout: 'pipe',
    stderr: 'inherit',
  })
  const reader = child.stdout.getReader()
  let out = ''
  await waitFor(
    'the crashing consumer to block in message 2',
    async () => {
      const { value } = await reader.read()
      out += new TextDecoder().decode(value)
      return out.includes('blocked 2') ? true : undefined
    },
    { timeoutMs: 45_000 },
  ).catch((error: Error) => {
    child.kill('SIGKILL')
    throw new Error(`${error.message}; child printed: ${out}`)
  })
  child.kill('SIGKILL')
  await child.exited

  const seen = collector()
  // Same group: it can only join once the dead member's session (10 s) expired.
  const second = consumerOf(group)
  try {
    await second.run(seen.handler)
    await seen.until(6, 60_000)
    expect(values(seen.messages)).toEqual(['2', '3', '4', '5', '6', '7'])
  } finally {
    await second.close()
  }
}, 120_000)
