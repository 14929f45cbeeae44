/** Admin operations over librdkafka's Admin API (src/rdkafka/admin.ts). */
export { createRdAdmin as createAdmin } from './rdkafka/admin'
