import { afterAll, expect, test } from 'bun:test'
import { startFakeRegistry } from './fake-registry'
import { eventRegistrations, registerAll } from './register'
import { RegistryClient } from './registry-client'
import { contentHash, isSuperseded } from './superseded'

const fake = startFakeRegistry()
afterAll(() => fake.stop())

test('registerAll is idempotent and pins every subject to BACKWARD', async () => {
  const client = new RegistryClient({ url: fake.url })
  const first = await registerAll(client, eventRegistrations())
  expect(first.map((r) => [r.subject, r.version, r.created])).toEqual([
    ['stock.vehicle-created-value', 1, true],
    ['stock.vehicle-processed-value', 1, true],
  ])
  const second = await registerAll(client, eventRegistrations())
  expect(second.map((r) => [r.id, r.version, r.created])).toEqual(first.map((r) => [r.id, r.version, false]))
  for (const { subject } of first) expect(await client.compatibility(subject)).toBe('BACKWARD')
  // A new subject is configured only after its first version exists (Apicurio has nothing to configure before).
  const order = fake.requests.filter((r) => r.includes('stock.vehicle-created-value'))
  expect(order.indexOf('POST /subjects/stock.vehicle-created-value/versions')).toBeLessThan(
    order.indexOf('PUT /config/stock.vehicle-created-value'),
  )
})

test('no schema this package generates is listed as superseded (that would let any change through)', async () => {
  for (const { subject, schema } of eventRegistrations()) expect(isSuperseded(subject, schema)).toBe(false)
  // Content, not text: whitespace and key order do not change the hash.
  const [first] = eventRegistrations()
  const text = first?.schema ?? '{}'
  expect(contentHash(JSON.stringify(JSON.parse(text)))).toBe(contentHash(text))
})
