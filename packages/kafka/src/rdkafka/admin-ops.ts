/**
 * librdkafka's asynchronous Admin API on any handle of the module (producer, consumer or admin): each
 * request's result arrives as an event on the handle's queue (client.ts), is read into plain values
 * here, and is freed by the queue pump. Inputs are copied by librdkafka, so they are freed right away.
 */
import { type Pointer, ptr, read } from 'bun:ffi'
import type { ClusterDescription, CreateTopicSpec, PartitionDescription } from '../types'
import type { NativeClient } from './client'
import { rd } from './library'
import {
  arrayOf,
  cstr,
  cstringIn,
  ERR,
  kafkaErrorOf,
  newPartitionList,
  readPartitionList,
  stringAt,
  type TopicPartitionOffset,
  takeError,
  toKafkaError,
} from './native'

const OP = { CREATETOPICS: 1, DELETETOPICS: 2, DESCRIBECONFIGS: 5, LISTGROUPOFFSETS: 14 } as const
const OP_DESCRIBETOPICS = 19
const OP_DESCRIBECLUSTER = 20
const OP_LISTOFFSETS = 21
const RESOURCE_TOPIC = 2
const ISOLATION_READ_COMMITTED = 1
export const OFFSET_SPEC_LATEST = -1n
export const OFFSET_SPEC_EARLIEST = -2n

/** The request as a whole failed (timeout, no broker): throws the module's error for it. */
function checkEvent(event: Pointer, context: string): void {
  const lib = rd()
  const code = lib.rd_kafka_event_error(event)
  if (code !== ERR.NO_ERROR) throw kafkaErrorOf(code, context, String(lib.rd_kafka_event_error_string(event)))
}

/** `const rd_kafka_error_t *` owned by a result (not freed here) → thrown error, if any. */
function checkBorrowedError(error: Pointer | null, context: string, topic?: string): void {
  if (error === null) return
  const lib = rd()
  const code = lib.rd_kafka_error_code(error)
  if (code === ERR.NO_ERROR) return
  throw kafkaErrorOf(code, context, String(lib.rd_kafka_error_string(error)), { topic })
}

/** An array of `const char *` for the duration of `use` (the strings stay referenced until it returns). */
function withNames<T>(names: readonly string[], use: (array: Pointer) => T): T {
  const strings = names.map(cstr)
  const array = new BigUint64Array(Math.max(1, strings.length))
  strings.forEach((s, i) => {
    array[i] = BigInt(ptr(s))
  })
  return use(ptr(array))
}

export interface TopicLayout {
  topic: string
  /** Null when the topic does not exist. */
  partitions: PartitionDescription[] | null
}

export function describeTopicLayouts(
  client: NativeClient,
  topics: readonly string[],
  timeoutMs: number,
): Promise<TopicLayout[]> {
  const lib = rd()
  return client.admin(
    OP_DESCRIBETOPICS,
    timeoutMs,
    (options, queue) =>
      withNames(topics, (names) => {
        const collection = lib.rd_kafka_TopicCollection_of_topic_names(names, topics.length)
        try {
          lib.rd_kafka_DescribeTopics(client.handle, collection, options, queue)
        } finally {
          lib.rd_kafka_TopicCollection_destroy(collection)
        }
      }),
    (event) => {
      checkEvent(event, 'describe topics')
      const result = lib.rd_kafka_event_DescribeTopics_result(event)
      return arrayOf((cnt) => lib.rd_kafka_DescribeTopics_result_topics(result, cnt)).map((desc) => {
        const topic = String(lib.rd_kafka_TopicDescription_name(desc))
        const error = lib.rd_kafka_TopicDescription_error(desc)
        if (error !== null && lib.rd_kafka_error_code(error) === ERR.UNKNOWN_TOPIC_OR_PART) {
          return { topic, partitions: null }
        }
        checkBorrowedError(error, `describe topic ${topic}`, topic)
        const nodeIds = (get: (cnt: Pointer) => Pointer | null) =>
          arrayOf(get).map((n) => lib.rd_kafka_Node_id(n))
        const partitions = arrayOf((cnt) => lib.rd_kafka_TopicDescription_partitions(desc, cnt)).map(
          (info): PartitionDescription => {
            const leader = lib.rd_kafka_TopicPartitionInfo_leader(info)
            return {
              partition: lib.rd_kafka_TopicPartitionInfo_partition(info),
              leader: leader === null ? -1 : lib.rd_kafka_Node_id(leader),
              replicas: nodeIds((cnt) => lib.rd_kafka_TopicPartitionInfo_replicas(info, cnt)),
              isr: nodeIds((cnt) => lib.rd_kafka_TopicPartitionInfo_isr(info, cnt)),
            }
          },
        )
        return { topic, partitions: partitions.sort((a, b) => a.partition - b.partition) }
      })
    },
  )
}

export function describeCluster(client: NativeClient, timeoutMs: number): Promise<ClusterDescription> {
  const lib = rd()
  return client.admin(
    OP_DESCRIBECLUSTER,
    timeoutMs,
    (options, queue) => lib.rd_kafka_DescribeCluster(client.handle, options, queue),
    (event) => {
      checkEvent(event, 'describe cluster')
      const result = lib.rd_kafka_event_DescribeCluster_result(event)
      const controller = lib.rd_kafka_DescribeCluster_result_controller(result)
      const brokers = arrayOf((cnt) => lib.rd_kafka_DescribeCluster_result_nodes(result, cnt)).map((n) => ({
        nodeId: lib.rd_kafka_Node_id(n),
        host: String(lib.rd_kafka_Node_host(n)),
        port: lib.rd_kafka_Node_port(n),
      }))
      const clusterId = lib.rd_kafka_DescribeCluster_result_cluster_id(result)
      return {
        clusterId: clusterId === null ? null : String(clusterId),
        controllerId: controller === null ? null : lib.rd_kafka_Node_id(controller),
        brokers: brokers.sort((a, b) => a.nodeId - b.nodeId),
      }
    },
  )
}

/** Offsets per partition for an offset spec (latest = the last stable offset under read_committed). */
export function listOffsets(
  client: NativeClient,
  partitions: readonly { topic: string; partition: number }[],
  spec: bigint,
  timeoutMs: number,
): Promise<TopicPartitionOffset[]> {
  const lib = rd()
  if (partitions.length === 0) return Promise.resolve([])
  return client.admin(
    OP_LISTOFFSETS,
    timeoutMs,
    (options, queue) => {
      const failed = takeError(
        lib.rd_kafka_AdminOptions_set_isolation_level(options, ISOLATION_READ_COMMITTED),
      )
      if (failed !== null) throw toKafkaError(failed, 'list offsets')
      const list = newPartitionList(partitions.map((p) => ({ ...p, offset: spec })))
      try {
        lib.rd_kafka_ListOffsets(client.handle, list, options, queue)
      } finally {
        lib.rd_kafka_topic_partition_list_destroy(list)
      }
    },
    (event) => {
      checkEvent(event, 'list offsets')
      const result = lib.rd_kafka_event_ListOffsets_result(event)
      return arrayOf((cnt) => lib.rd_kafka_ListOffsets_result_infos(result, cnt)).map((info) => {
        const tp = lib.rd_kafka_ListOffsetsResultInfo_topic_partition(info) as Pointer
        const entry = {
          topic: stringAt(read.ptr(tp, 0) as Pointer) ?? '',
          partition: read.i32(tp, 8),
          offset: read.i64(tp, 16),
          err: read.i32(tp, 48),
        }
        if (entry.err !== ERR.NO_ERROR) throw kafkaErrorOf(entry.err, `list offsets of ${entry.topic}`)
        return entry
      })
    },
  )
}

/** Committed offsets of a group (offset < 0: nothing committed for that partition). */
export function groupOffsets(
  client: NativeClient,
  groupId: string,
  partitions: readonly { topic: string; partition: number }[],
  timeoutMs: number,
): Promise<TopicPartitionOffset[]> {
  const lib = rd()
  return client.admin(
    OP.LISTGROUPOFFSETS,
    timeoutMs,
    (options, queue) => {
      const list = newPartitionList(partitions)
      try {
        const request = lib.rd_kafka_ListConsumerGroupOffsets_new(cstr(groupId), list)
        try {
          const array = new BigUint64Array([BigInt(request as Pointer)])
          lib.rd_kafka_ListConsumerGroupOffsets(client.handle, ptr(array), 1, options, queue)
        } finally {
          lib.rd_kafka_ListConsumerGroupOffsets_destroy(request)
        }
      } finally {
        lib.rd_kafka_topic_partition_list_destroy(list)
      }
    },
    (event) => {
      checkEvent(event, `offsets of group ${groupId}`)
      const result = lib.rd_kafka_event_ListConsumerGroupOffsets_result(event)
      const [group] = arrayOf((cnt) => lib.rd_kafka_ListConsumerGroupOffsets_result_groups(result, cnt))
      if (group === undefined) return []
      checkBorrowedError(lib.rd_kafka_group_result_error(group), `offsets of group ${groupId}`)
      return readPartitionList(lib.rd_kafka_group_result_partitions(group))
    },
  )
}

/** Topic-level results (create/delete): throws the first failure. */
function checkTopicResults(results: Pointer[], context: string, tolerate: number[] = []): void {
  const lib = rd()
  for (const r of results) {
    const code = lib.rd_kafka_topic_result_error(r)
    if (code === ERR.NO_ERROR || tolerate.includes(code)) continue
    const topic = String(lib.rd_kafka_topic_result_name(r))
    throw kafkaErrorOf(code, `${context} ${topic}`, String(lib.rd_kafka_topic_result_error_string(r)))
  }
}

export function createTopics(
  client: NativeClient,
  specs: readonly CreateTopicSpec[],
  timeoutMs: number,
): Promise<void> {
  const lib = rd()
  return client.admin(
    OP.CREATETOPICS,
    timeoutMs,
    (options, queue) => {
      const errstr = Buffer.alloc(512)
      const created: Pointer[] = []
      try {
        for (const spec of specs) {
          const topic = lib.rd_kafka_NewTopic_new(
            cstr(spec.topic),
            spec.partitions,
            spec.replicationFactor,
            errstr,
            errstr.length,
          )
          if (topic === null) throw kafkaErrorOf(-186, `create topic ${spec.topic}`, cstringIn(errstr))
          created.push(topic)
          for (const [name, value] of Object.entries(spec.configs ?? {})) {
            const code = lib.rd_kafka_NewTopic_set_config(topic, cstr(name), cstr(value))
            if (code !== ERR.NO_ERROR) throw kafkaErrorOf(code, `config ${name} of ${spec.topic}`)
          }
        }
        const array = new BigUint64Array(created.map((t) => BigInt(t)))
        lib.rd_kafka_CreateTopics(client.handle, ptr(array), created.length, options, queue)
      } finally {
        for (const topic of created) lib.rd_kafka_NewTopic_destroy(topic)
      }
    },
    (event) => {
      checkEvent(event, 'create topics')
      const result = lib.rd_kafka_event_CreateTopics_result(event)
      checkTopicResults(
        arrayOf((cnt) => lib.rd_kafka_CreateTopics_result_topics(result, cnt)),
        'create topic',
      )
    },
  )
}

export function deleteTopics(
  client: NativeClient,
  topics: readonly string[],
  timeoutMs: number,
): Promise<void> {
  const lib = rd()
  return client.admin(
    OP.DELETETOPICS,
    timeoutMs,
    (options, queue) => {
      const deleted = topics.map((t) => lib.rd_kafka_DeleteTopic_new(cstr(t)) as Pointer)
      try {
        const array = new BigUint64Array(deleted.map((t) => BigInt(t)))
        lib.rd_kafka_DeleteTopics(client.handle, ptr(array), deleted.length, options, queue)
      } finally {
        for (const t of deleted) lib.rd_kafka_DeleteTopic_destroy(t)
      }
    },
    (event) => {
      checkEvent(event, 'delete topics')
      const result = lib.rd_kafka_event_DeleteTopics_result(event)
      checkTopicResults(
        arrayOf((cnt) => lib.rd_kafka_DeleteTopics_result_topics(result, cnt)),
        'delete topic',
      )
    },
  )
}

/** Topic configs as the brokers report them (defaults included). */
export function describeTopicConfigs(
  client: NativeClient,
  topics: readonly string[],
  timeoutMs: number,
): Promise<Map<string, Record<string, string>>> {
  const lib = rd()
  return client.admin(
    OP.DESCRIBECONFIGS,
    timeoutMs,
    (options, queue) => {
      const resources = topics.map((t) => lib.rd_kafka_ConfigResource_new(RESOURCE_TOPIC, cstr(t)) as Pointer)
      try {
        const array = new BigUint64Array(resources.map((r) => BigInt(r)))
        lib.rd_kafka_DescribeConfigs(client.handle, ptr(array), resources.length, options, queue)
      } finally {
        for (const r of resources) lib.rd_kafka_ConfigResource_destroy(r)
      }
    },
    (event) => {
      checkEvent(event, 'describe configs')
      const result = lib.rd_kafka_event_DescribeConfigs_result(event)
      const out = new Map<string, Record<string, string>>()
      for (const resource of arrayOf((cnt) => lib.rd_kafka_DescribeConfigs_result_resources(result, cnt))) {
        const name = String(lib.rd_kafka_ConfigResource_name(resource))
        const code = lib.rd_kafka_ConfigResource_error(resource)
        if (code !== ERR.NO_ERROR) throw kafkaErrorOf(code, `configs of ${name}`, undefined, { topic: name })
        const configs: Record<string, string> = {}
        for (const entry of arrayOf((cnt) => lib.rd_kafka_ConfigResource_configs(resource, cnt))) {
          const value = stringAt(lib.rd_kafka_ConfigEntry_value(entry))
          if (value !== null) configs[String(lib.rd_kafka_ConfigEntry_name(entry))] = value
        }
        out.set(name, configs)
      }
      return out
    },
  )
}
