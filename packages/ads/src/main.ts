/**
 * vehicles-ads: boots in dependency order and refuses to start half-configured —
 * config → database (indexes) → registry (the processed-event schema must be registered) → Kafka
 * (DLQ producer) → projection → HTTP. SIGTERM: not ready, drain HTTP, stop the projection
 * (finished offsets committed, a message still being retried stays uncommitted), close clients.
 */
import { RegistryClient } from '@vehicles/contracts'
import { createProducer, librdkafkaVersion, parseBrokers } from '@vehicles/kafka'
import {
  createLogger,
  createMetrics,
  createReadiness,
  createShutdown,
  degradedWithout,
} from '@vehicles/platform'
import { IndexedAds } from './ads/indexed-ads'
import { AdsRepository } from './ads/repository'
import { createAdsApp, SERVICE } from './app'
import { loadAdsConfig } from './config'
import { connectMongo } from './db'
import { createProjectionMetrics, trackConsumerLag } from './metrics'
import { connectProcessedContract } from './projection/contract'
import { startProjection } from './projection/start'

const config = loadAdsConfig()
const logger = createLogger({ service: SERVICE, level: config.LOG_LEVEL })
const readiness = createReadiness()
const metrics = createMetrics({ service: SERVICE })
const shutdown = createShutdown({ logger, readiness, closerTimeoutMs: config.SHUTDOWN_TIMEOUT_MS })
shutdown.install()

/** Retries a start-up step for up to a minute, logging each failure; then gives up with the last error. */
async function untilStarted<T>(what: string, start: () => Promise<T>, deadlineMs = 60_000): Promise<T> {
  const deadline = Date.now() + deadlineMs
  for (let attempt = 1, delay = 500; ; attempt++, delay = Math.min(delay * 2, 5_000)) {
    try {
      return await start()
    } catch (error) {
      if (Date.now() + delay > deadline) throw error
      logger.warn('ads.start_retry', `${what} could not start; retrying in ${delay} ms`, { attempt, error })
      await Bun.sleep(delay)
    }
  }
}

type Projection = Awaited<ReturnType<typeof startProjection>>
type Contracts = Awaited<ReturnType<typeof connectProcessedContract>>

/** The database with its indexes, and the in-memory list index when configured, loaded. */
async function openReadModel() {
  const mongo = await connectMongo({
    url: config.MONGODB_URL,
    database: config.MONGODB_DATABASE,
    serverSelectionTimeoutMs: config.MONGODB_TIMEOUT_MS,
  })
  let indexed: IndexedAds | undefined
  const repository = new AdsRepository(mongo.db, {
    writeConcern: config.MONGODB_WRITE_CONCERN === 'majority' ? { w: 'majority' } : { w: 1 },
    onApplied: (doc) => indexed?.apply(doc),
  })
  await repository.ensureIndexes()
  logger.info('ads.indexes_ready', 'indexes of every served query exist', {
    database: config.MONGODB_DATABASE,
  })
  if (config.LIST_SOURCE === 'memory') {
    indexed = new IndexedAds(repository, logger)
    // Before consuming and serving: the first page must not come from an empty index.
    await indexed.load()
  }
  return { mongo, repository, indexed }
}

async function bindContracts(): Promise<Contracts> {
  const contracts = await connectProcessedContract(config.SCHEMA_REGISTRY_URL, config.INPUT_TOPIC)
  logger.info('contracts.bound', 'processed-event schema found in the registry', {
    subjects: contracts.bound.map((b) => ({ subject: b.subject, id: b.schemaId, version: b.version })),
  })
  return contracts
}

/** The DLQ producer and the projection consumer, each retried while Kafka is not reachable yet. */
async function startKafka(
  brokers: ReturnType<typeof parseBrokers>,
  contracts: Contracts,
  repository: AdsRepository,
) {
  // Kafka may be unreachable at start (brokers restarting, started in another order): every Kafka step
  // is retried for a while instead of crash-looping. Each retry reuses what the previous attempt made.
  const producer = createProducer({ brokers, clientId: `${config.KAFKA_CLIENT_ID}-dlq` })
  await untilStarted('kafka producer', () => producer.connect())

  // Registered once, outside the retry: a second registration of a metric name throws.
  const projectionMetrics = createProjectionMetrics(metrics.registry)
  // The group may be briefly unjoinable at start (a previous member still leaving, an admin tool
  // setting offsets, a broker restarting): retry for a while instead of crash-looping.
  const projection = await untilStarted('projection', () =>
    startProjection({
      brokers,
      clientId: config.KAFKA_CLIENT_ID,
      groupId: config.GROUP_ID,
      groupInstanceId: config.KAFKA_GROUP_INSTANCE_ID,
      topic: config.INPUT_TOPIC,
      contracts,
      repository,
      producer,
      log: logger,
      metrics: projectionMetrics,
      backoff: { initialMs: config.STORE_RETRY_INITIAL_MS, maxMs: config.STORE_RETRY_MAX_MS },
    }),
  )
  trackConsumerLag({ registry: metrics.registry, consumer: projection.consumer })
  return { producer, projection }
}

function registerReadinessChecks(
  repository: AdsRepository,
  indexed: IndexedAds | undefined,
  projection: Projection,
) {
  readiness.register({
    name: 'mongodb',
    check: async () => {
      await repository.ping()
      const loadedAt = indexed?.loadedAt === undefined ? undefined : new Date(indexed.loadedAt).toISOString()
      const list = indexed === undefined ? {} : { listIndexAds: indexed.size, listIndexLoadedAt: loadedAt }
      return { ok: true, detail: { paused: projection.blocked > 0, ...list } }
    },
  })
  readiness.register({ name: 'kafka', check: () => projection.consumer.ping().then(() => ({ ok: true })) })
  // One attempt per probe: the decoder's client retries with backoff, which a health probe must not.
  const registryProbe = new RegistryClient({
    url: config.SCHEMA_REGISTRY_URL,
    retry: { attempts: 1, timeoutMs: 1_500 },
  })
  // Reads keep working without the registry for every schema id already seen, so it only degrades.
  readiness.register(degradedWithout('schema-registry', () => registryProbe.subjects()))
}

async function boot() {
  const brokers = parseBrokers(config.KAFKA_BROKERS)
  const { mongo, repository, indexed } = await openReadModel()
  const contracts = await bindContracts()
  const { producer, projection } = await startKafka(brokers, contracts, repository)
  registerReadinessChecks(repository, indexed, projection)

  const stopResync =
    indexed?.startResync(config.LIST_RESYNC_MS, () => projection.consumer.ownership()) ?? (() => {})
  const app = createAdsApp({ logger, reader: indexed ?? repository, readiness, metrics })
  const server = Bun.serve({
    port: config.PORT,
    hostname: config.HOST,
    fetch: (request) => app.handle(request),
  })
  shutdown.setServer(server)
  // Order: stop consuming (commits what finished) before the clients it uses go away.
  shutdown.onClose('projection', () => projection.stop())
  shutdown.onClose('list index reload', stopResync)
  shutdown.onClose('kafka producer', () => producer.disconnect())
  shutdown.onClose('mongodb', () => mongo.close())
  logger.info('http.listening', `listening on http://${config.HOST}:${server.port}`, {
    port: server.port,
    librdkafka: librdkafkaVersion(),
  })
}

boot().catch((error: unknown) => {
  logger.error('ads.boot_failed', 'vehicles-ads could not start', {
    error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  })
  process.exit(1)
})
