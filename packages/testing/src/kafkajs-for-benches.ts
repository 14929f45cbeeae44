/**
 * kafkajs, only for the two benches that still drive it (bench/pipeline/common.ts, bench/relay/run.ts)
 * until they move to the Kafka module. No test and no service uses it: delete this file, its line in
 * index.ts and the dependency once those benches no longer import it.
 */
export { Kafka, logLevel } from 'kafkajs'
