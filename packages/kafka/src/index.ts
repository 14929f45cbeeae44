/**
 * @vehicles/kafka — the only module of the system that imports a Kafka client.
 *
 * Producer: idempotent, acks=all, Java-compatible murmur2 partitioner, `send` resolves per batch only
 * once every record is acknowledged. Consumer: group member, read_committed, commits only offsets whose
 * handler resolved, pause/resume, graceful close. Admin: what tests and health checks need.
 */
export { createAdmin } from './admin'
export { createConsumer } from './consumer'
export { dlqTopic, sendToDlq } from './dlq'
export {
  KafkaDeliveryError,
  KafkaError,
  KafkaTopicNotFoundError,
  KafkaUnavailableError,
  KafkaUsageError,
} from './errors'
export { murmur2, partitionForKey } from './murmur2'
export { createProducer } from './producer'
export type * from './types'

/** Splits a `KAFKA_BROKERS` value (`host:port,host:port`) into the broker list the factories take. */
export function parseBrokers(value: string): string[] {
  const brokers = value
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0)
  for (const broker of brokers) {
    if (!/^[^\s:]+:\d{1,5}$/.test(broker)) throw new Error(`broker "${broker}" is not host:port`)
  }
  if (brokers.length === 0) throw new Error('broker list is empty')
  return brokers
}
