/** Bake-off candidate: kafkajs 2.2.4 (unmaintained since 2023), under Bun. */
import { type Consumer, Kafka, logLevel, Partitioners } from 'kafkajs'
import { type Candidate, main } from '../driver'

await main(async (args) => {
  const kafka = new Kafka({
    clientId: `bench-kafkajs-${process.pid}`,
    brokers: args.brokers,
    logLevel: logLevel.ERROR,
  })
  // DefaultPartitioner is kafkajs' Java-compatible murmur2 one.
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  })
  await producer.connect()
  let consumer: Consumer | undefined
  const candidate: Candidate = {
    name: 'kafkajs',
    produceBatch: async (records) => {
      await producer.send({
        topic: args.topic,
        acks: -1,
        messages: records.map((r) => ({ key: r.key, value: r.value })),
      })
    },
    sendOne: async (r) => {
      await producer.send({ topic: args.topic, acks: -1, messages: [{ key: r.key, value: r.value }] })
    },
    consume: async (topic, count, onMessage) => {
      consumer = kafka.consumer({
        groupId: `bench-kafkajs-${process.pid}-${Date.now()}`,
        readUncommitted: false,
      })
      await consumer.connect()
      await consumer.subscribe({ topics: [topic], fromBeginning: true })
      let n = 0
      await new Promise<void>((resolve, reject) => {
        consumer
          ?.run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              for (const _ of batch.messages) {
                onMessage()
                if (++n === count) resolve()
              }
            },
          })
          .catch(reject)
      })
    },
    close: async () => {
      await consumer?.disconnect()
      await producer.disconnect()
    },
  }
  return candidate
}, `bun ${Bun.version}`)
