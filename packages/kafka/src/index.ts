/**
 * @vehicles/kafka — the only module of the system that imports a Kafka client.
 *
 * Producer: idempotent, acks=all, Java-compatible murmur2 partitioner, `send` resolves per batch only
 * once every record is acknowledged. Consumer: group member, read_committed, commits only offsets whose
 * handler resolved, pause/resume, graceful close. Transactional producer: one fixed transactional id per
 * writer, one transaction per `sendTransaction`, fencing by a newer holder of the id. Admin: what tests and
 * health checks need, a partition's end offsets, and reading a partition back under read_committed.
 * Engine: librdkafka through bun:ffi (src/rdkafka; docs/kafka-client.md).
 */
export { createAdmin } from './admin'
export { parseBrokers } from './brokers'
export { createConsumer } from './consumer'
export { dlqTopic, sendToDlq } from './dlq'
// Every typed error of the module (errors.ts holds nothing else).
export * from './errors'
export { murmur2, partitionForKey } from './murmur2'
export { createProducer, createTransactionalProducer } from './producer'
export {
  LIBRDKAFKA_VERSION,
  libraryPath as librdkafkaPath,
  loadedVersion as librdkafkaVersion,
} from './rdkafka/library'
export type * from './types'
