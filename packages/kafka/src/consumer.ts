/** The module's group consumer over librdkafka (src/rdkafka/consumer.ts). */
export {
  createRdConsumer as createConsumer,
  kInjectRdFailure as kInjectStreamError,
} from './rdkafka/consumer'
