/**
 * The module's producers, over librdkafka (src/rdkafka): idempotent (acks=all, at most 5 requests in
 * flight, Java-compatible murmur2_random partitioner) and transactional.
 */
export {
  createRdProducer as createProducer,
  createRdTransactionalProducer as createTransactionalProducer,
} from './rdkafka/producer'
