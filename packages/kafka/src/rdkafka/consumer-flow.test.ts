/**
 * The consumer's buffer count (what backpressure is decided on) across revocations and drops, without
 * a broker: messages are dispatched as the fetch path does, and the handler is held open by the test.
 */
import { expect, test } from 'bun:test'
import type { ConsumedMessage } from '../types'
import { dispatch, dropLane } from './consumer-flow'
import { onRevoke } from './consumer-rebalance'
import { type ConsumerState, createConsumerState } from './consumer-state'
import { slotOf } from './lanes'

const TOPIC = 'flow-test'

function message(offset: number): ConsumedMessage {
  return {
    topic: TOPIC,
    partition: 0,
    offset: String(offset),
    key: null,
    value: Buffer.from('v'),
    headers: {},
    timestamp: 0,
    attempt: 1,
  }
}

/** A consumer state owning partition 0 whose handler waits until `release` is called. */
function heldConsumer() {
  const state: ConsumerState = createConsumerState({
    brokers: ['127.0.0.1:1'],
    clientId: 'flow-test',
    groupId: 'flow-test',
    topics: [TOPIC],
    readCommitted: true,
    fromBeginning: true,
    sessionTimeoutMs: 2_000,
  })
  const handled: string[] = []
  let release: () => void = () => {}
  const held = new Promise<void>((resolve) => {
    release = resolve
  })
  state.handling = {
    kind: 'message',
    handle: async (m) => {
      handled.push(m.offset)
      await held
    },
  }
  state.assigned.add(slotOf(TOPIC, 0))
  return { state, handled, release }
}

test('a revocation counts the held message out once, and anything delivered meanwhile not at all: the count returns to 0', async () => {
  const { state, handled, release } = heldConsumer()
  dispatch(state, message(1))
  dispatch(state, message(2))
  expect(state.buffered).toBe(2)
  const revoking = onRevoke(state, [{ topic: TOPIC, partition: 0 }], false)
  // librdkafka pauses fetching when it announces a rebalance; were anything still delivered for the
  // partition before it is unassigned (after its handler finished), it must not be counted.
  dispatch(state, message(3))
  dispatch(state, message(4))
  release()
  await revoking
  expect({ buffered: state.buffered, handled, lanes: state.lanes.size }).toEqual({
    buffered: 0,
    handled: ['1'],
    lanes: 0,
  })
})

test('a lane dropped while its handler runs is counted out once, not again when the handler finishes', async () => {
  const { state, handled, release } = heldConsumer()
  dispatch(state, message(1))
  dispatch(state, message(2))
  const lane = state.lanes.get(slotOf(TOPIC, 0))
  if (lane === undefined) throw new Error('no lane after dispatch')
  dropLane(state, lane)
  expect(state.buffered).toBe(0)
  release()
  await lane.worker
  expect({ buffered: state.buffered, handled }).toEqual({ buffered: 0, handled: ['1'] })
})

test('a message finished normally leaves the buffer once', async () => {
  const { state, handled, release } = heldConsumer()
  dispatch(state, message(1))
  dispatch(state, message(2))
  release()
  const lane = state.lanes.get(slotOf(TOPIC, 0))
  while (lane?.worker !== undefined) await lane.worker
  expect({ buffered: state.buffered, handled }).toEqual({ buffered: 0, handled: ['1', '2'] })
})
