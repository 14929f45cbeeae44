export { MongoClient, MongoServerError, postgres } from './clients'
export { Kafka, logLevel } from './kafkajs-for-benches'
export {
  type ClusterMetadata,
  clusterMetadata,
  type KcatResult,
  kcat,
  openTransaction,
  produceAcksAll,
  type TopicMetadata,
  underReplicated,
} from './kcat'
export { type StackEnv, stackEnv } from './stack-env'
export { type WaitOptions, waitFor } from './wait-for'
