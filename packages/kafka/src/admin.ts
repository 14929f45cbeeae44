import {
  ConfigResourceTypes,
  FetchIsolationLevels,
  Admin as LibraryAdmin,
  ListOffsetTimestamps,
} from '@platformatic/kafka'
import { toKafkaError } from './client-errors'
import { kafkaEngine } from './engine'
import { KafkaTopicNotFoundError, KafkaUsageError } from './errors'
import { createRdAdmin } from './rdkafka/admin'
import type { Admin, AdminOptions, PartitionLag, TopicDescription } from './types'

/** Admin operations the tests, benchmarks and health checks need; nothing more. */
export function createAdmin(options: AdminOptions): Admin {
  if (kafkaEngine() === 'librdkafka') return createRdAdmin(options)
  if (options.brokers.length === 0) throw new KafkaUsageError('createAdmin: brokers is empty')
  const client = new LibraryAdmin({
    clientId: options.clientId ?? 'vehicles-admin',
    bootstrapBrokers: [...options.brokers],
    timeout: 10_000,
    retries: 3,
    retryDelay: 500,
  })

  async function wrap<T>(context: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run()
    } catch (error) {
      throw toKafkaError(error, context)
    }
  }

  async function endOffsets(topics: readonly string[]): Promise<Map<string, bigint>> {
    const metadata = await client.metadata({ topics: [...topics], forceUpdate: true })
    const listed = await client.listOffsets({
      // Committed work is measured against what read_committed consumers can see.
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      topics: topics.map((name) => {
        const count = metadata.topics.get(name)?.partitionsCount ?? 0
        return {
          name,
          partitions: Array.from({ length: count }, (_, partitionIndex) => ({
            partitionIndex,
            timestamp: ListOffsetTimestamps.LATEST,
          })),
        }
      }),
    })
    const ends = new Map<string, bigint>()
    for (const t of listed) for (const p of t.partitions) ends.set(`${t.name}:${p.partitionIndex}`, p.offset)
    return ends
  }

  return {
    connect: () => wrap('admin connect', async () => void (await client.metadata({ topics: [] }))),

    createTopics: (topics) =>
      wrap('create topics', async () => {
        // One request per topic: the library applies one config list to every topic of a request.
        for (const spec of topics) {
          await client.createTopics({
            topics: [spec.topic],
            partitions: spec.partitions,
            replicas: spec.replicationFactor,
            configs: Object.entries(spec.configs ?? {}).map(([name, value]) => ({ name, value })),
          })
        }
      }),

    deleteTopics: (topics) =>
      wrap('delete topics', async () => {
        if (topics.length > 0) await client.deleteTopics({ topics: [...topics] })
      }),

    listTopics: () => wrap('list topics', () => client.listTopics()),

    describeTopics: (topics) =>
      wrap('describe topics', async () => {
        const metadata = await client.metadata({ topics: [...topics], forceUpdate: true })
        const configs = await client.describeConfigs({
          resources: topics.map((resourceName) => ({
            resourceType: ConfigResourceTypes.TOPIC,
            resourceName,
          })),
        })
        return topics.map((topic): TopicDescription => {
          const meta = metadata.topics.get(topic)
          if (meta === undefined) throw new KafkaTopicNotFoundError(topic)
          const config: Record<string, string> = {}
          for (const c of configs.find((d) => d.resourceName === topic)?.configs ?? []) {
            if (typeof c.value === 'string') config[c.name] = c.value
          }
          return {
            topic,
            partitions: meta.partitions.map((p, partition) => ({
              partition,
              leader: p.leader,
              replicas: [...p.replicas],
              isr: [...p.isr],
            })),
            configs: config,
          }
        })
      }),

    describeCluster: () =>
      wrap('describe cluster', async () => {
        const metadata = await client.metadata({ topics: [], forceUpdate: true })
        return {
          clusterId: metadata.id ?? null,
          controllerId: metadata.controllerId ?? null,
          brokers: [...metadata.brokers.entries()]
            .map(([nodeId, b]) => ({ nodeId, host: b.host, port: b.port }))
            .sort((a, b) => a.nodeId - b.nodeId),
        }
      }),

    groupLag: (groupId, topics) =>
      wrap(`lag of group ${groupId}`, async () => {
        const ends = await endOffsets(topics)
        const [group] = await client.listConsumerGroupOffsets({ groups: [groupId] })
        const committed = new Map<string, bigint>()
        for (const t of group?.topics ?? []) {
          for (const p of t.partitions) {
            // -1 means "no committed offset" for this partition.
            if (p.committedOffset >= 0n) committed.set(`${t.name}:${p.partitionIndex}`, p.committedOffset)
          }
        }
        const lags: PartitionLag[] = []
        for (const [slot, end] of ends) {
          const split = slot.lastIndexOf(':')
          const topic = slot.slice(0, split)
          const partition = Number(slot.slice(split + 1))
          const done = committed.get(slot)
          lags.push({
            topic,
            partition,
            committed: done === undefined ? null : done.toString(),
            end: end.toString(),
            lag: Number(end - (done ?? 0n)),
          })
        }
        return lags.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
      }),

    ping: () =>
      wrap(
        'admin ping',
        async () => void (await client.metadata({ topics: [], forceUpdate: true, retries: 0 })),
      ),

    disconnect: async () => {
      await client.close()
    },
  }
}
