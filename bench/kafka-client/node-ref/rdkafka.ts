/**
 * Reference candidate: node-rdkafka (librdkafka bundled, built from source by node-gyp) on Node.
 * It does not load under Bun (NAN addon: `undefined symbol: v8::...`), so run.ts bundles this file for
 * Node with `bun build --target=node` and runs it with /usr/bin/node.
 */
import { createRequire } from 'node:module'
import type * as RdKafka from 'node-rdkafka'
import { type Candidate, main } from '../driver'

// node-rdkafka is CommonJS with a native addon; load it the CommonJS way from this folder.
const rdkafka = createRequire(import.meta.url)('node-rdkafka') as typeof RdKafka

await main(async (args) => {
  const waiting = new Map<number, { left: number; resolve: () => void; reject: (e: Error) => void }>()
  let nextId = 0
  const producer = new rdkafka.HighLevelProducer({
    'client.id': `bench-rdkafka-${process.pid}`,
    'metadata.broker.list': args.brokers.join(','),
    'enable.idempotence': true,
    acks: 'all',
    partitioner: 'murmur2_random',
    dr_cb: true,
  } as RdKafka.ProducerGlobalConfig)
  await new Promise<void>((resolve, reject) => {
    producer.connect({}, (err) => (err ? reject(err) : resolve()))
  })
  // Delivery reports arrive on poll; 1 ms so the latency figure is librdkafka's, not the poll period's.
  producer.setPollInterval(1)

  const produce = (records: { key: Buffer; value: Buffer }[]) =>
    new Promise<void>((resolve, reject) => {
      const id = nextId++
      waiting.set(id, { left: records.length, resolve, reject })
      for (const r of records) {
        producer.produce(args.topic, null, r.value, r.key, Date.now(), (err: unknown) => {
          const w = waiting.get(id)
          if (w === undefined) return
          if (err) {
            waiting.delete(id)
            w.reject(err instanceof Error ? err : new Error(String(err)))
            return
          }
          if (--w.left === 0) {
            waiting.delete(id)
            w.resolve()
          }
        })
      }
    })

  let consumer: RdKafka.KafkaConsumer | undefined
  const candidate: Candidate = {
    name: 'node-rdkafka',
    produceBatch: produce,
    sendOne: (r) => produce([r]),
    consume: (topic, count, onMessage) =>
      new Promise<void>((resolve, reject) => {
        const c = new rdkafka.KafkaConsumer(
          {
            'group.id': `bench-rdkafka-${process.pid}-${Date.now()}`,
            'metadata.broker.list': args.brokers.join(','),
            'enable.auto.commit': false,
            'isolation.level': 'read_committed',
          } as RdKafka.ConsumerGlobalConfig,
          { 'auto.offset.reset': 'earliest' },
        )
        consumer = c
        let n = 0
        c.on('ready', () => {
          c.subscribe([topic])
          c.consume()
        })
        c.on('data', () => {
          onMessage()
          if (++n === count) resolve()
        })
        c.on('event.error', reject)
        c.connect()
      }),
    close: async () => {
      await new Promise<void>((resolve) => (consumer ? consumer.disconnect(() => resolve()) : resolve()))
      await new Promise<void>((resolve) => producer.flush(10_000, () => producer.disconnect(() => resolve())))
    },
  }
  return candidate
}, `node ${process.version}`)
