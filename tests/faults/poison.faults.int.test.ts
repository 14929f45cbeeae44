/**
 * Poison records written straight to both topics (raw bytes: not the wire format, an unknown schema id,
 * a registered id with a body that breaks the schema) while POSTs flow: each lands in its topic's `.dlq`
 * with a `dlq-reason` header, and nothing stalls: a vehicle posted after them still gets its ad.
 */
import { expect, test } from 'bun:test'
import { TOPICS } from '../../packages/contracts/src/topics'
import { createProducer } from '../../packages/kafka/src/index'
import { waitFor } from '../../packages/testing/src/index'
import { expectClean } from '../support/expect-clean'
import { runFaultCase } from '../support/fault-case'
import { faultSystem } from '../support/fault-suite'
import { randomVehicle } from '../support/load'

const system = faultSystem('poison')

async function latestSchemaId(registryUrl: string, topic: string): Promise<number> {
  const response = await fetch(
    `${registryUrl}/subjects/${encodeURIComponent(`${topic}-value`)}/versions/latest`,
  )
  const body = (await response.json()) as { id?: unknown }
  if (typeof body.id !== 'number') throw new Error(`no schema for ${topic}: ${JSON.stringify(body)}`)
  return body.id
}

/** Confluent wire format: magic byte 0, big-endian schema id, then the JSON. */
function wire(schemaId: number, json: string): Buffer {
  const header = Buffer.alloc(5)
  header.writeUInt8(0, 0)
  header.writeUInt32BE(schemaId, 1)
  return Buffer.concat([header, Buffer.from(json)])
}

function poisons(schemaId: number): Buffer[] {
  return [
    Buffer.from('this is not an event'),
    wire(2_000_000_000, JSON.stringify({ eventId: crypto.randomUUID() })),
    wire(schemaId, JSON.stringify({ eventId: 'not-a-uuid', vehicle: { id: 42 } })),
  ]
}

test('poison messages on both topics: all in the DLQs with a reason, nothing stalls; 0 lost, 0 duplicated', async () => {
  const poisonKeys: string[] = []
  let goodAfterPoisonMs = 0
  const figures = await runFaultCase(system(), {
    name: 'poison-messages',
    count: 300,
    ratePerSecond: 30,
    expectedDlq: 6,
    async inject(ctx) {
      await ctx.created(100)
      const { stack, runId } = ctx.system
      // The Kafka module's producer (idempotent, acks=all) sends the bytes as they are.
      const producer = createProducer({
        clientId: `faults-poison-${runId}`,
        brokers: stack.KAFKA_BROKERS.split(','),
      })
      await producer.connect()
      try {
        for (const topic of [TOPICS.vehicleCreated, TOPICS.vehicleProcessed]) {
          const id = await latestSchemaId(stack.SCHEMA_REGISTRY_URL, topic)
          const records = poisons(id).map((value, i) => {
            const key = `poison-${runId}-${topic}-${i}`
            poisonKeys.push(key)
            return { topic, key, value }
          })
          await producer.send(records)
        }
      } finally {
        await producer.disconnect()
      }
      ctx.say(`injected ${poisonKeys.length} poison records`)
      ctx.restored()
      // A good vehicle after the poison still gets its ad: no partition is stuck.
      const started = performance.now()
      const response = await fetch(`${ctx.system.stockUrl}/stock`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(randomVehicle()),
      })
      const text = await response.text()
      if (response.status !== 201) throw new Error(`POST after the poison: ${response.status} ${text}`)
      const { id } = JSON.parse(text) as { id: string }
      await waitFor(
        `the ad of ${id}, posted after the poison`,
        async () => ((await fetch(`${ctx.system.adsUrl}/ads/${id}`)).status === 200 ? true : undefined),
        { timeoutMs: 60_000, intervalMs: 50 },
      )
      goodAfterPoisonMs = performance.now() - started
      ctx.say(`a vehicle posted after the poison had its ad in ${goodAfterPoisonMs.toFixed(0)} ms`)
    },
  })
  expectClean(figures, 6)
  const dlq = figures.snapshot.dlq
  expect(dlq.map((record) => record.key).sort()).toEqual([...poisonKeys].sort())
  const withoutReason = dlq.filter((record) => !record.headers.includes('dlq-reason='))
  expect(withoutReason).toEqual([])
  expect(goodAfterPoisonMs).toBeGreaterThan(0)
}, 600_000)
