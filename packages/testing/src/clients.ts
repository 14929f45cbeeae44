/**
 * Database and Kafka clients for integration tests that live outside a workspace package (infra/,
 * tests/): they import them from here, because only packages resolve dependencies. Services use
 * their own clients (packages/kafka, drizzle, the ads repository), never these.
 */
export { Kafka, logLevel } from 'kafkajs'
export { MongoClient, MongoServerError } from 'mongodb'
export { default as postgres } from 'postgres'
