export { Kafka, logLevel, MongoClient, MongoServerError, postgres } from './clients'
export {
  type ClusterMetadata,
  clusterMetadata,
  type KcatResult,
  kcat,
  produceAcksAll,
  type TopicMetadata,
  underReplicated,
} from './kcat'
export { type StackEnv, stackEnv } from './stack-env'
export { type WaitOptions, waitFor } from './wait-for'
