import { CString, type Pointer, read } from 'bun:ffi'
import { KafkaTopicNotFoundError, KafkaUsageError } from '../errors'
import type { Admin, AdminOptions, PartitionLag, TopicDescription } from '../types'
import { describeCluster, groupOffsets, ISOLATION, listOffsets, OFFSET_SPEC_LATEST } from './admin-offsets'
import { createTopics, deleteTopics, describeTopicConfigs, describeTopicLayouts } from './admin-ops'
import { baseSettings, createNativeClient, type NativeClient } from './client'
import { rd } from './library'
import { ERR, kafkaErrorOf } from './native'
import { readRange } from './read-back'

const REQUEST_TIMEOUT_MS = 10_000
const PING_TIMEOUT_MS = 1_500

/** Admin operations the tests, benchmarks, health checks and the relay's read-back need. */
export function createRdAdmin(options: AdminOptions): Admin {
  if (options.brokers.length === 0) throw new KafkaUsageError('createAdmin: brokers is empty')
  const clientId = options.clientId ?? 'vehicles-admin'
  let client: NativeClient | undefined
  const open = (): NativeClient => {
    client ??= createNativeClient({
      kind: 'producer',
      settings: baseSettings(options.brokers, clientId),
      events: 0,
      onEvent: () => {},
    })
    return client
  }

  async function partitionsOf(topics: readonly string[]): Promise<{ topic: string; partition: number }[]> {
    const layouts = await describeTopicLayouts(open(), topics, REQUEST_TIMEOUT_MS)
    return layouts.flatMap((l) => {
      if (l.partitions === null) throw new KafkaTopicNotFoundError(l.topic)
      return l.partitions.map((p) => ({ topic: l.topic, partition: p.partition }))
    })
  }

  return {
    async connect() {
      await describeCluster(open(), REQUEST_TIMEOUT_MS)
    },
    createTopics: (topics) => createTopics(open(), topics, REQUEST_TIMEOUT_MS),
    deleteTopics: async (topics) => {
      if (topics.length > 0) await deleteTopics(open(), topics, REQUEST_TIMEOUT_MS)
    },
    async listTopics() {
      return describeAllTopics(open())
    },
    describeTopics: (topics) => describeTopicsWithConfigs(open(), topics),
    describeCluster: () => describeCluster(open(), REQUEST_TIMEOUT_MS),
    groupLag: async (groupId, topics) => groupLag(open(), groupId, await partitionsOf(topics)),
    async endOffsets(topic) {
      const partitions = await partitionsOf([topic])
      const [high, stable] = await Promise.all([
        listOffsets(open(), partitions, OFFSET_SPEC_LATEST, REQUEST_TIMEOUT_MS, ISOLATION.readUncommitted),
        listOffsets(open(), partitions, OFFSET_SPEC_LATEST, REQUEST_TIMEOUT_MS, ISOLATION.readCommitted),
      ])
      const at = (list: typeof high, partition: number) =>
        (list.find((entry) => entry.partition === partition)?.offset ?? 0n).toString()
      return partitions
        .map((p) => p.partition)
        .sort((a, b) => a - b)
        .map((partition) => ({ highWatermark: at(high, partition), lastStable: at(stable, partition) }))
    },
    async readCommitted(topic, partition, fromOffset) {
      const [stable] = await listOffsets(
        open(),
        [{ topic, partition }],
        OFFSET_SPEC_LATEST,
        REQUEST_TIMEOUT_MS,
      )
      const end = stable?.offset ?? 0n
      const from = BigInt(fromOffset)
      if (end <= from) return []
      return readRange(options.brokers, clientId, topic, partition, from, end)
    },
    ping: async () => {
      await describeCluster(open(), PING_TIMEOUT_MS)
    },
    async disconnect() {
      await client?.close()
      client = undefined
    },
  }
}

/**
 * Every topic name (internal ones excluded). The Admin API has no "list topics"; a cluster-wide
 * metadata request is blocking in librdkafka, so it runs on the blocking worker.
 */
async function describeAllTopics(client: NativeClient): Promise<string[]> {
  const { code, metadata } = await client.blocking.metadata(REQUEST_TIMEOUT_MS)
  if (metadata === null || code !== ERR.NO_ERROR) throw kafkaErrorOf(code, 'list topics')
  try {
    // rd_kafka_metadata_t: topic_cnt@16, topics@24; each rd_kafka_metadata_topic_t (32 bytes) has
    // its name at 0.
    const count = read.i32(metadata, 16)
    const topics = read.ptr(metadata, 24) as Pointer
    const names: string[] = []
    for (let i = 0; i < count; i++) names.push(new CString(read.ptr(topics, i * 32) as Pointer).toString())
    return names.filter((t) => !t.startsWith('__')).sort()
  } finally {
    rd().rd_kafka_metadata_destroy(metadata)
  }
}

/** Layouts and configs of the topics; a topic that does not exist is a KafkaTopicNotFoundError. */
async function describeTopicsWithConfigs(
  client: NativeClient,
  topics: readonly string[],
): Promise<TopicDescription[]> {
  const [layouts, configs] = await Promise.all([
    describeTopicLayouts(client, topics, REQUEST_TIMEOUT_MS),
    describeTopicConfigs(client, topics, REQUEST_TIMEOUT_MS).catch((error: unknown) => {
      if (error instanceof KafkaTopicNotFoundError) return new Map<string, Record<string, string>>()
      throw error
    }),
  ])
  return topics.map((topic): TopicDescription => {
    const layout = layouts.find((l) => l.topic === topic)
    if (layout?.partitions == null) throw new KafkaTopicNotFoundError(topic)
    return { topic, partitions: layout.partitions, configs: configs.get(topic) ?? {} }
  })
}

/** Per partition: the group's committed offset, the last stable offset, and the lag between them. */
async function groupLag(
  client: NativeClient,
  groupId: string,
  partitions: { topic: string; partition: number }[],
): Promise<PartitionLag[]> {
  const [ends, committed] = await Promise.all([
    listOffsets(client, partitions, OFFSET_SPEC_LATEST, REQUEST_TIMEOUT_MS),
    groupOffsets(client, groupId, partitions, REQUEST_TIMEOUT_MS),
  ])
  const done = new Map(
    committed.filter((c) => c.offset >= 0n).map((c) => [`${c.topic}:${c.partition}`, c.offset]),
  )
  return ends
    .map((end): PartitionLag => {
      const at = done.get(`${end.topic}:${end.partition}`)
      return {
        topic: end.topic,
        partition: end.partition,
        committed: at === undefined ? null : at.toString(),
        end: end.offset.toString(),
        lag: Number(end.offset - (at ?? 0n)),
      }
    })
    .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
}
