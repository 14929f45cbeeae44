/**
 * @vehicles/testing — the one home of test support: processes and their output, kcat, the stack's
 * endpoints, databases of a test's own, waits with deadlines. Kafka fixtures over the Kafka module are
 * in `@vehicles/testing/kafka`. What only one package's tests need stays beside that package (its
 * `src/testing/`), saying why in its header.
 */
export { MongoClient, MongoServerError, postgres } from './clients'
export { createTestDatabase, openTestDb, type TestDatabase, type TestDb } from './databases'
export {
  type ClusterMetadata,
  clusterMetadata,
  coordinatorOf,
  coordinatorsOf,
  javaHashCode,
  type KcatResult,
  kcat,
  kcatBytes,
  produceAcksAll,
  type TopicMetadata,
  underReplicated,
  waitForFullIsr,
} from './kcat'
export {
  forEachLine,
  type RunOptions,
  type RunResult,
  runChecked,
  runCommand,
  runCommandBytes,
  stackCommand,
} from './processes'
export { duplicates, type KafkaRecord, rawValue, recordsWithKeys, waitForKeys } from './records-by-key'
export { SAMPLE_VEHICLE } from './samples'
export { repoRoot, type StackEnv, stackEnv } from './stack-env'
export { startTcpProxy, type TcpProxy } from './tcp-proxy'
export { uniqueName } from './unique-name'
export { type WaitOptions, waitFor } from './wait-for'
