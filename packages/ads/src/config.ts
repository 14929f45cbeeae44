/**
 * vehicles-ads configuration: the only module that reads the environment, validated at boot
 * (`loadConfig` prints every bad variable and exits 1). No secrets have defaults: credentials, when
 * needed, are part of MONGODB_URL, which has none.
 */
import { type Static, Type } from '@sinclair/typebox'
import { TOPICS } from '@vehicles/contracts'
import { LOG_LEVELS, loadConfig } from '@vehicles/platform'

const Url = (description: string, pattern: string) => Type.String({ pattern, description })

export const AdsConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 1, maximum: 65_535, default: 3003, description: 'HTTP port' }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1', description: 'HTTP bind address' }),
  LOG_LEVEL: Type.Union(
    LOG_LEVELS.map((level) => Type.Literal(level)),
    { default: 'info', description: 'debug, info, warn or error' },
  ),
  MONGODB_URL: Url(
    'MongoDB-wire server, mongodb://host:port/ (credentials go here)',
    '^mongodb(\\+srv)?://.+',
  ),
  MONGODB_DATABASE: Type.String({
    pattern: '^[A-Za-z0-9_-]{1,63}$',
    default: 'vehicles_ads',
    description: 'database holding the ads collection',
  }),
  MONGODB_WRITE_CONCERN: Type.Union([Type.Literal('majority'), Type.Literal('1')], {
    default: 'majority',
    description: 'write acknowledgement awaited before an offset is committed',
  }),
  MONGODB_TIMEOUT_MS: Type.Integer({
    minimum: 100,
    maximum: 60_000,
    default: 3_000,
    description: 'server selection timeout: how soon an operation fails while the server is away',
  }),
  KAFKA_BROKERS: Type.String({
    pattern: '^[^\\s,:]+:\\d+(,[^\\s,:]+:\\d+)*$',
    description: 'host:port,host:port',
  }),
  KAFKA_CLIENT_ID: Type.String({ minLength: 1, default: 'vehicles-ads' }),
  SCHEMA_REGISTRY_URL: Url('Confluent-compatible registry API', '^https?://.+'),
  INPUT_TOPIC: Type.String({
    pattern: '^[A-Za-z0-9._-]{1,249}$',
    default: TOPICS.vehicleProcessed,
    description: 'processed-event topic; its dead letters go to <topic>.dlq',
  }),
  GROUP_ID: Type.String({ minLength: 1, default: 'vehicles-ads', description: 'consumer group' }),
  KAFKA_GROUP_INSTANCE_ID: Type.Optional(
    Type.String({
      pattern: '^[A-Za-z0-9._-]{1,249}$',
      description:
        'static group membership: a restart with the same id takes its partitions back at once instead of waiting for the old member to time out; unique per running instance; unset = dynamic',
    }),
  ),
  STORE_RETRY_INITIAL_MS: Type.Integer({
    minimum: 1,
    default: 200,
    description: 'first backoff while the database is away',
  }),
  STORE_RETRY_MAX_MS: Type.Integer({ minimum: 1, default: 5_000, description: 'backoff ceiling' }),
  LIST_SOURCE: Type.Union([Type.Literal('memory'), Type.Literal('database')], {
    default: 'memory',
    description:
      'what answers GET /ads: an in-memory ordered index loaded from the database (FerretDB v1 cannot sort from its indexes), or a database query per page',
  }),
  LIST_RESYNC_MS: Type.Integer({
    minimum: 0,
    default: 60_000,
    description:
      'reload period of the in-memory index, for writes of other instances (skipped while this instance has held every partition since the last reload); 0 = never',
  }),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 10_000, description: 'per shutdown step' }),
})
export type AdsConfig = Static<typeof AdsConfigSchema>

export function loadAdsConfig(env: Record<string, string | undefined> = process.env): AdsConfig {
  return loadConfig(AdsConfigSchema, env)
}
