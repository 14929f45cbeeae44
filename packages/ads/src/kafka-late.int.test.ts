/**
 * vehicles-ads started while Kafka is unreachable: its only broker address is a closed port. The
 * service must keep retrying (not exit, not trip over its own metrics on the retry), and once that
 * address answers (a TCP relay to a real broker of the stack opens there) it must join, project an
 * event and report ready. Before the fix it exited 1 at the first failed Kafka step.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { createServer, type Server, Socket } from 'node:net'
import {
  type Contracts,
  dlqTopic,
  RegistryClient,
  registerAll,
  subjectOf,
  TOPICS,
  toJsonSchemaText,
  VehicleProcessedEvent,
} from '@vehicles/contracts'
import { type Admin, createProducer, type Producer } from '@vehicles/kafka'
import { openTestDb, stackEnv, type TestDb, waitFor } from '@vehicles/testing'
import { connectAdmin, createTestTopics, stackBrokers, uniqueName } from '@vehicles/testing/kafka'
import { connectProcessedContract } from './projection/contract'
import { processedEvent } from './testing/events'

const topic = uniqueName('late-kafka')
let admin: Admin
let dropTopics: () => Promise<void> = async () => {}
let contracts: Contracts
let producer: Producer
let testDb: TestDb
let relay: Server | undefined
let service: ReturnType<typeof Bun.spawn> | undefined

/** A port nobody listens on right now (bound by the OS, then released). */
async function closedPort(): Promise<number> {
  const probe = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const port = probe.port
  probe.stop(true)
  return port
}

/** Forwards every connection on `port` to `target` (host:port): Kafka's bootstrap address coming up. */
function openRelay(port: number, target: string): Promise<Server> {
  const [host = '127.0.0.1', targetPort = '0'] = target.split(':')
  const server = createServer((client) => {
    const upstream = new Socket()
    upstream.connect(Number(targetPort), host)
    client.pipe(upstream).pipe(client)
    const end = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('error', end)
    upstream.on('error', end)
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve(server))
  })
}

beforeAll(async () => {
  const env = stackEnv()
  admin = await connectAdmin()
  dropTopics = await createTestTopics(admin, [topic, dlqTopic(topic)])
  await registerAll(new RegistryClient({ url: env.SCHEMA_REGISTRY_URL }), [
    { subject: subjectOf(topic), schema: toJsonSchemaText(VehicleProcessedEvent) },
  ])
  contracts = await connectProcessedContract(env.SCHEMA_REGISTRY_URL, topic)
  producer = createProducer({ brokers: stackBrokers(), clientId: uniqueName('producer') })
  await producer.connect()
  testDb = await openTestDb('late_kafka')
})

afterAll(async () => {
  if (service !== undefined && service.exitCode === null) {
    service.kill('SIGTERM')
    await service.exited
  }
  relay?.close()
  await producer?.disconnect()
  await dropTopics()
  await admin?.disconnect()
  await testDb?.dispose()
})

test('ads started with Kafka unreachable retries, then joins and projects once Kafka answers', async () => {
  const env = stackEnv()
  const kafkaPort = await closedPort()
  const httpPort = await closedPort()
  const output: string[] = []
  service = Bun.spawn(['bun', 'packages/ads/src/main.ts'], {
    cwd: `${import.meta.dir}/../../..`,
    env: {
      ...process.env,
      PORT: String(httpPort),
      LOG_LEVEL: 'info',
      MONGODB_URL: env.MONGODB_URL,
      MONGODB_DATABASE: testDb.db.databaseName,
      KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`,
      SCHEMA_REGISTRY_URL: env.SCHEMA_REGISTRY_URL,
      INPUT_TOPIC: topic,
      GROUP_ID: uniqueName('group'),
      LIST_RESYNC_MS: '0',
    },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder()
    for await (const chunk of stream) output.push(decoder.decode(chunk, { stream: true }))
  }
  const child = service
  void collect(child.stdout as ReadableStream<Uint8Array>)
  void collect(child.stderr as ReadableStream<Uint8Array>)
  const seen = () => output.join('').split('\n').slice(-8).join('\n')

  // Kafka away: the service retries its Kafka steps and stays up.
  await waitFor(
    'vehicles-ads to retry a Kafka step',
    () => {
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}:\n${seen()}`)
      return output.join('').includes('ads.start_retry') ? true : undefined
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  )
  await Bun.sleep(3_000)
  expect(child.exitCode).toBeNull()

  // Kafka answers at the configured address: the metadata it returns names the real brokers.
  const [broker] = stackBrokers()
  if (broker === undefined) throw new Error('the stack lists no broker')
  relay = await openRelay(kafkaPort, broker)

  const event = processedEvent()
  await producer.send([
    { topic, key: event.vehicle.id, value: contracts.encode(TOPICS.vehicleProcessed, event) },
  ])
  await waitFor(
    'the ad of the event produced meanwhile',
    async () => {
      if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}:\n${seen()}`)
      const response = await fetch(`http://127.0.0.1:${httpPort}/ads/${event.vehicle.id}`).catch(() => null)
      if (response?.status === 200) return true
      throw new Error(`GET /ads/:id → ${response?.status ?? 'no answer'}; log tail:\n${seen()}`)
    },
    { timeoutMs: 90_000, intervalMs: 500 },
  )
  await waitFor(
    'readiness',
    async () => {
      const response = await fetch(`http://127.0.0.1:${httpPort}/health/ready`)
      if (response.ok) return true
      throw new Error(`${response.status} ${await response.text()}`)
    },
    { timeoutMs: 30_000, intervalMs: 500 },
  )
  expect(output.join('')).not.toContain('already been registered')
  expect(output.join('')).not.toContain('ads.boot_failed')
}, 180_000)
