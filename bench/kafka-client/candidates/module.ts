/**
 * Bake-off row for this system's own module (@vehicles/kafka over the chosen client): what the services
 * actually get, including per-record delivery reports and the commit-after-handler consumer.
 */
import { createConsumer, createProducer } from '../../../packages/kafka/src/index'
import type { Consumer } from '../../../packages/kafka/src/types'
import { type Candidate, main } from '../driver'

await main(async (args) => {
  const producer = createProducer({ brokers: args.brokers, clientId: `bench-module-${process.pid}` })
  await producer.connect()
  let consumer: Consumer | undefined
  const candidate: Candidate = {
    name: '@vehicles/kafka (module)',
    produceBatch: async (records) => {
      await producer.send(records.map((r) => ({ topic: args.topic, key: r.key.toString(), value: r.value })))
    },
    sendOne: async (r) => {
      await producer.send([{ topic: args.topic, key: r.key.toString(), value: r.value }])
    },
    consume: async (topic, count, onMessage) => {
      let n = 0
      let done: () => void = () => {}
      const finished = new Promise<void>((resolve) => {
        done = resolve
      })
      consumer = createConsumer({
        brokers: args.brokers,
        clientId: `bench-module-c-${process.pid}`,
        groupId: `bench-module-${process.pid}-${Date.now()}`,
        topics: [topic],
        readCommitted: true,
        fromBeginning: true,
        maxBufferedMessages: 5_000,
      })
      await consumer.run(async () => {
        onMessage()
        if (++n === count) done()
      })
      await finished
    },
    close: async () => {
      await consumer?.close()
      await producer.disconnect()
    },
  }
  return candidate
}, `bun ${Bun.version}`)
