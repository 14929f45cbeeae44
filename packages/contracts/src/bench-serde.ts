/**
 * Serde cost per record, no network: `bun packages/contracts/src/bench-serde.ts`.
 * Binds to an in-memory registry, then times validate+encode and decode+validate of a created event.
 */
import { EVENT_CONTRACTS } from './artifacts'
import { startFakeRegistry } from './fake-registry'
import { toJsonSchemaText } from './json-schema'
import { connectContracts } from './serde'
import { freshCreatedEvent } from './testing/created-event'
import { TOPICS } from './topics'

const fake = startFakeRegistry()
for (const { subject, schema } of EVENT_CONTRACTS) fake.add(subject, toJsonSchemaText(schema))
const contracts = await connectContracts({ registryUrl: fake.url })

const event = freshCreatedEvent()

function time(name: string, n: number, fn: () => unknown) {
  for (let i = 0; i < 10_000; i++) fn() // warm-up
  const start = performance.now()
  for (let i = 0; i < n; i++) fn()
  const ms = performance.now() - start
  console.log(
    `${name}: ${Math.round(n / (ms / 1000)).toLocaleString('en')} ops/s, ${((ms * 1000) / n).toFixed(2)} µs/op`,
  )
}

const bytes = contracts.encode(TOPICS.vehicleCreated, event)
console.log(`record value: ${bytes.length} bytes`)
time('encode (validate + wire)', 200_000, () => contracts.encode(TOPICS.vehicleCreated, event))
const decodes = 200_000
const start = performance.now()
for (let i = 0; i < decodes; i++) await contracts.decode(TOPICS.vehicleCreated, bytes)
const ms = performance.now() - start
console.log(
  `decode (wire + JSON + validate): ${Math.round(decodes / (ms / 1000)).toLocaleString('en')} ops/s, ${((ms * 1000) / decodes).toFixed(2)} µs/op`,
)
fake.stop()
