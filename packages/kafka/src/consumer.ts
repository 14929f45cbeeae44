/** The module's group consumer over librdkafka (src/rdkafka/consumer.ts). */
export { createRdConsumer as createConsumer } from './rdkafka/consumer'
export { kInjectRdFailure as kInjectStreamError } from './rdkafka/consumer-support'
