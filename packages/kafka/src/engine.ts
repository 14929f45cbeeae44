/**
 * Which client sits behind the module. `librdkafka` (bun:ffi, src/rdkafka) is chosen with
 * VEHICLES_KAFKA_ENGINE=librdkafka; the pure-JS client stays the default until every test of the
 * module, stock and ads passes on librdkafka (docs/kafka-client.md).
 */
export type KafkaEngine = 'librdkafka' | 'platformatic'

export function kafkaEngine(): KafkaEngine {
  return process.env.VEHICLES_KAFKA_ENGINE === 'librdkafka' ? 'librdkafka' : 'platformatic'
}
