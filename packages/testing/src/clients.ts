/**
 * Database clients for integration tests that live outside a workspace package (infra/, tests/): they
 * import them from here, because only packages resolve dependencies. Services use their own clients
 * (drizzle, the ads repository), never these; Kafka is read with kcat or the Kafka module.
 */
export { MongoClient, MongoServerError } from 'mongodb'
export { default as postgres } from 'postgres'
