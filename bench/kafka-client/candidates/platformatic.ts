/** Bake-off candidate: @platformatic/kafka used directly (no module wrapper), under Bun. */
import {
  Consumer,
  compatibilityPartitioner,
  FetchIsolationLevels,
  MessagesStreamModes,
  ProduceAcks,
  Producer,
} from '@platformatic/kafka'
import { type Candidate, main } from '../driver'

await main(async (args) => {
  const producer = new Producer({
    clientId: `bench-platformatic-${process.pid}`,
    bootstrapBrokers: args.brokers,
    idempotent: true,
    acks: ProduceAcks.ALL,
    // The library's default murmur2 partitioner is not Java-compatible; this one is.
    partitioner: compatibilityPartitioner,
    retries: 10,
  })
  let consumer: Consumer | undefined
  const candidate: Candidate = {
    name: '@platformatic/kafka',
    produceBatch: async (records) => {
      await producer.send({
        messages: records.map((r) => ({ topic: args.topic, key: r.key, value: r.value })),
      })
    },
    sendOne: async (r) => {
      await producer.send({ messages: [{ topic: args.topic, key: r.key, value: r.value }] })
    },
    consume: async (topic, count, onMessage) => {
      consumer = new Consumer({
        clientId: `bench-platformatic-c-${process.pid}`,
        groupId: `bench-platformatic-${process.pid}-${Date.now()}`,
        bootstrapBrokers: args.brokers,
        isolationLevel: FetchIsolationLevels.READ_COMMITTED,
        autocommit: false,
      })
      const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST })
      let n = 0
      await new Promise<void>((resolve, reject) => {
        stream.on('error', reject)
        stream.on('data', () => {
          onMessage()
          if (++n === count) resolve()
        })
      })
      await stream.close()
    },
    close: async () => {
      await consumer?.close()
      await producer.close()
    },
  }
  return candidate
}, `bun ${Bun.version}`)
