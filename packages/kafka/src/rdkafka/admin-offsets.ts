/** Cluster description, partition offsets and group offsets through the Admin API (see admin-ops.ts). */
import { type Pointer, read } from 'bun:ffi'
import type { ClusterDescription } from '../types'
import { checkBorrowedError, checkEvent, withNativeObjects } from './admin-ops'
import type { NativeClient } from './client'
import { rd } from './library'
import {
  arrayOf,
  cstr,
  ERR,
  kafkaErrorOf,
  readPartitionList,
  stringAt,
  type TopicPartitionOffset,
  takeError,
  toKafkaError,
  withPartitionList,
} from './native'

const OP = { LISTGROUPOFFSETS: 14, DESCRIBECLUSTER: 20, LISTOFFSETS: 21 } as const
/** librdkafka's rd_kafka_IsolationLevel_t. */
export const ISOLATION = { readUncommitted: 0, readCommitted: 1 } as const
export const OFFSET_SPEC_LATEST = -1n

export function describeCluster(client: NativeClient, timeoutMs: number): Promise<ClusterDescription> {
  const lib = rd()
  return client.admin(
    OP.DESCRIBECLUSTER,
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

/**
 * Offsets per partition for an offset spec. Latest under read_committed (the default) is the last stable
 * offset; under read_uncommitted it is the high watermark.
 */
export function listOffsets(
  client: NativeClient,
  partitions: readonly { topic: string; partition: number }[],
  spec: bigint,
  timeoutMs: number,
  isolation: number = ISOLATION.readCommitted,
): Promise<TopicPartitionOffset[]> {
  const lib = rd()
  if (partitions.length === 0) return Promise.resolve([])
  return client.admin(
    OP.LISTOFFSETS,
    timeoutMs,
    (options, queue) => {
      const failed = takeError(lib.rd_kafka_AdminOptions_set_isolation_level(options, isolation))
      if (failed !== null) throw toKafkaError(failed, 'list offsets')
      withPartitionList(
        partitions.map((p) => ({ ...p, offset: spec })),
        (list) => lib.rd_kafka_ListOffsets(client.handle, list, options, queue),
      )
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
  const context = `offsets of group ${groupId}`
  const lib = rd()
  return client.admin(
    OP.LISTGROUPOFFSETS,
    timeoutMs,
    (options, queue) =>
      withPartitionList(partitions, (list) =>
        withNativeObjects(
          [groupId],
          (group) => lib.rd_kafka_ListConsumerGroupOffsets_new(cstr(group), list) as Pointer,
          lib.rd_kafka_ListConsumerGroupOffsets_destroy,
          (array, count) =>
            lib.rd_kafka_ListConsumerGroupOffsets(client.handle, array, count, options, queue),
        ),
      ),
    (event) => {
      checkEvent(event, context)
      const result = lib.rd_kafka_event_ListConsumerGroupOffsets_result(event)
      const [group] = arrayOf((cnt) => lib.rd_kafka_ListConsumerGroupOffsets_result_groups(result, cnt))
      if (group === undefined) return []
      checkBorrowedError(lib.rd_kafka_group_result_error(group), context)
      return readPartitionList(lib.rd_kafka_group_result_partitions(group))
    },
  )
}
