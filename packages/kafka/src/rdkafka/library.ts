/**
 * librdkafka, loaded through bun:ffi. The shared library is the one the estimator's confluent-kafka
 * wheel ships (same version in TypeScript and Python: one set of bugs, one set of settings); bootstrap
 * downloads that wheel from PyPI and extracts it to the cache path below (scripts/fetch-librdkafka.sh).
 *
 * Only the symbols the module uses are declared. Every function here is thread-safe in librdkafka and
 * is called from the JS thread only; none takes a JS callback, so librdkafka's own threads never run JS.
 */

import { dlopen, FFIType, type Pointer } from 'bun:ffi'
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'

/** The librdkafka of the pinned confluent-kafka wheel (estimator/pyproject.toml). */
export const LIBRDKAFKA_VERSION = '2.16.0'
export const CONFLUENT_KAFKA_WHEEL_VERSION = '2.16.1'

/** Where bootstrap puts the library, unless `LIBRDKAFKA_PATH` names another file. */
export function defaultLibraryPath(): string {
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache')
  return join(cache, 'vehicles', 'librdkafka', CONFLUENT_KAFKA_WHEEL_VERSION, 'librdkafka.so.1')
}

export function libraryPath(): string {
  return process.env.LIBRDKAFKA_PATH || defaultLibraryPath()
}

const { ptr, i32, i64, u64, cstring, void: none } = FFIType
const usize = u64

const symbols = {
  rd_kafka_version_str: { args: [], returns: cstring },
  rd_kafka_err2str: { args: [i32], returns: cstring },
  rd_kafka_err2name: { args: [i32], returns: cstring },
  rd_kafka_mem_free: { args: [ptr, ptr], returns: none },

  rd_kafka_conf_new: { args: [], returns: ptr },
  rd_kafka_conf_set: { args: [ptr, ptr, ptr, ptr, usize], returns: i32 },
  rd_kafka_conf_set_events: { args: [ptr, i32], returns: none },
  rd_kafka_conf_destroy: { args: [ptr], returns: none },

  rd_kafka_new: { args: [i32, ptr, ptr, usize], returns: ptr },
  rd_kafka_destroy: { args: [ptr], returns: none },
  rd_kafka_destroy_flags: { args: [ptr, i32], returns: none },
  rd_kafka_fatal_error: { args: [ptr, ptr, usize], returns: i32 },
  rd_kafka_memberid: { args: [ptr], returns: ptr },
  rd_kafka_metadata_destroy: { args: [ptr], returns: none },

  rd_kafka_queue_get_main: { args: [ptr], returns: ptr },
  rd_kafka_queue_get_consumer: { args: [ptr], returns: ptr },
  rd_kafka_queue_new: { args: [ptr], returns: ptr },
  rd_kafka_queue_destroy: { args: [ptr], returns: none },
  rd_kafka_queue_forward: { args: [ptr, ptr], returns: none },
  rd_kafka_queue_io_event_enable: { args: [ptr, i32, ptr, usize], returns: none },
  rd_kafka_queue_poll: { args: [ptr, i32], returns: ptr },
  rd_kafka_set_log_queue: { args: [ptr, ptr], returns: i32 },
  rd_kafka_poll_set_consumer: { args: [ptr], returns: i32 },
  rd_kafka_outq_len: { args: [ptr], returns: i32 },
  rd_kafka_purge: { args: [ptr, i32], returns: i32 },

  rd_kafka_event_type: { args: [ptr], returns: i32 },
  rd_kafka_event_destroy: { args: [ptr], returns: none },
  rd_kafka_event_message_next: { args: [ptr], returns: ptr },
  rd_kafka_event_error: { args: [ptr], returns: i32 },
  rd_kafka_event_error_string: { args: [ptr], returns: cstring },
  rd_kafka_event_error_is_fatal: { args: [ptr], returns: i32 },
  rd_kafka_event_opaque: { args: [ptr], returns: ptr },
  rd_kafka_event_log: { args: [ptr, ptr, ptr, ptr], returns: i32 },
  rd_kafka_event_topic_partition_list: { args: [ptr], returns: ptr },

  rd_kafka_error_code: { args: [ptr], returns: i32 },
  rd_kafka_error_string: { args: [ptr], returns: cstring },
  rd_kafka_error_is_fatal: { args: [ptr], returns: i32 },
  rd_kafka_error_is_retriable: { args: [ptr], returns: i32 },
  rd_kafka_error_txn_requires_abort: { args: [ptr], returns: i32 },
  rd_kafka_error_destroy: { args: [ptr], returns: none },

  rd_kafka_topic_new: { args: [ptr, ptr, ptr], returns: ptr },
  rd_kafka_topic_destroy: { args: [ptr], returns: none },
  rd_kafka_topic_name: { args: [ptr], returns: cstring },
  rd_kafka_produceva: { args: [ptr, ptr, usize], returns: ptr },
  rd_kafka_message_timestamp: { args: [ptr, ptr], returns: i64 },
  rd_kafka_message_headers: { args: [ptr, ptr], returns: i32 },
  rd_kafka_header_get_all: { args: [ptr, usize, ptr, ptr, ptr], returns: i32 },

  rd_kafka_topic_partition_list_new: { args: [i32], returns: ptr },
  rd_kafka_topic_partition_list_add: { args: [ptr, ptr, i32], returns: ptr },
  rd_kafka_topic_partition_list_destroy: { args: [ptr], returns: none },

  rd_kafka_subscribe: { args: [ptr, ptr], returns: i32 },
  rd_kafka_assign: { args: [ptr, ptr], returns: i32 },
  rd_kafka_incremental_assign: { args: [ptr, ptr], returns: ptr },
  rd_kafka_incremental_unassign: { args: [ptr, ptr], returns: ptr },
  rd_kafka_assignment_lost: { args: [ptr], returns: i32 },
  rd_kafka_rebalance_protocol: { args: [ptr], returns: cstring },
  rd_kafka_pause_partitions: { args: [ptr, ptr], returns: i32 },
  rd_kafka_resume_partitions: { args: [ptr, ptr], returns: i32 },
  rd_kafka_seek_partitions: { args: [ptr, ptr, i32], returns: ptr },
  rd_kafka_commit_queue: { args: [ptr, ptr, ptr, ptr, ptr], returns: i32 },
  rd_kafka_consumer_close_queue: { args: [ptr, ptr], returns: ptr },
  rd_kafka_consumer_closed: { args: [ptr], returns: i32 },

  rd_kafka_init_transactions: { args: [ptr, i32], returns: ptr },
  rd_kafka_begin_transaction: { args: [ptr], returns: ptr },
  rd_kafka_commit_transaction: { args: [ptr, i32], returns: ptr },
  rd_kafka_abort_transaction: { args: [ptr, i32], returns: ptr },

  rd_kafka_AdminOptions_new: { args: [ptr, i32], returns: ptr },
  rd_kafka_AdminOptions_destroy: { args: [ptr], returns: none },
  rd_kafka_AdminOptions_set_request_timeout: { args: [ptr, i32, ptr, usize], returns: i32 },
  rd_kafka_AdminOptions_set_isolation_level: { args: [ptr, i32], returns: ptr },
  rd_kafka_AdminOptions_set_opaque: { args: [ptr, ptr], returns: none },
  rd_kafka_event_CreateTopics_result: { args: [ptr], returns: ptr },
  rd_kafka_CreateTopics_result_topics: { args: [ptr, ptr], returns: ptr },
  rd_kafka_event_DeleteTopics_result: { args: [ptr], returns: ptr },
  rd_kafka_DeleteTopics_result_topics: { args: [ptr, ptr], returns: ptr },
  rd_kafka_topic_result_error: { args: [ptr], returns: i32 },
  rd_kafka_topic_result_error_string: { args: [ptr], returns: cstring },
  rd_kafka_topic_result_name: { args: [ptr], returns: cstring },
  rd_kafka_NewTopic_new: { args: [ptr, i32, i32, ptr, usize], returns: ptr },
  rd_kafka_NewTopic_set_config: { args: [ptr, ptr, ptr], returns: i32 },
  rd_kafka_NewTopic_destroy: { args: [ptr], returns: none },
  rd_kafka_CreateTopics: { args: [ptr, ptr, usize, ptr, ptr], returns: none },
  rd_kafka_DeleteTopic_new: { args: [ptr], returns: ptr },
  rd_kafka_DeleteTopic_destroy: { args: [ptr], returns: none },
  rd_kafka_DeleteTopics: { args: [ptr, ptr, usize, ptr, ptr], returns: none },

  rd_kafka_ConfigResource_new: { args: [i32, ptr], returns: ptr },
  rd_kafka_ConfigResource_destroy: { args: [ptr], returns: none },
  rd_kafka_ConfigResource_configs: { args: [ptr, ptr], returns: ptr },
  rd_kafka_ConfigResource_name: { args: [ptr], returns: cstring },
  rd_kafka_ConfigResource_error: { args: [ptr], returns: i32 },
  rd_kafka_ConfigEntry_name: { args: [ptr], returns: cstring },
  rd_kafka_ConfigEntry_value: { args: [ptr], returns: ptr },
  rd_kafka_DescribeConfigs: { args: [ptr, ptr, usize, ptr, ptr], returns: none },
  rd_kafka_event_DescribeConfigs_result: { args: [ptr], returns: ptr },
  rd_kafka_DescribeConfigs_result_resources: { args: [ptr, ptr], returns: ptr },

  rd_kafka_TopicCollection_of_topic_names: { args: [ptr, usize], returns: ptr },
  rd_kafka_TopicCollection_destroy: { args: [ptr], returns: none },
  rd_kafka_DescribeTopics: { args: [ptr, ptr, ptr, ptr], returns: none },
  rd_kafka_event_DescribeTopics_result: { args: [ptr], returns: ptr },
  rd_kafka_DescribeTopics_result_topics: { args: [ptr, ptr], returns: ptr },
  rd_kafka_TopicDescription_name: { args: [ptr], returns: cstring },
  rd_kafka_TopicDescription_error: { args: [ptr], returns: ptr },
  rd_kafka_TopicDescription_partitions: { args: [ptr, ptr], returns: ptr },
  rd_kafka_TopicPartitionInfo_partition: { args: [ptr], returns: i32 },
  rd_kafka_TopicPartitionInfo_leader: { args: [ptr], returns: ptr },
  rd_kafka_TopicPartitionInfo_isr: { args: [ptr, ptr], returns: ptr },
  rd_kafka_TopicPartitionInfo_replicas: { args: [ptr, ptr], returns: ptr },

  rd_kafka_DescribeCluster: { args: [ptr, ptr, ptr], returns: none },
  rd_kafka_event_DescribeCluster_result: { args: [ptr], returns: ptr },
  rd_kafka_DescribeCluster_result_nodes: { args: [ptr, ptr], returns: ptr },
  rd_kafka_DescribeCluster_result_controller: { args: [ptr], returns: ptr },
  rd_kafka_DescribeCluster_result_cluster_id: { args: [ptr], returns: cstring },
  rd_kafka_Node_id: { args: [ptr], returns: i32 },
  rd_kafka_Node_host: { args: [ptr], returns: cstring },
  rd_kafka_Node_port: { args: [ptr], returns: FFIType.u16 },

  rd_kafka_ListOffsets: { args: [ptr, ptr, ptr, ptr], returns: none },
  rd_kafka_event_ListOffsets_result: { args: [ptr], returns: ptr },
  rd_kafka_ListOffsets_result_infos: { args: [ptr, ptr], returns: ptr },
  rd_kafka_ListOffsetsResultInfo_topic_partition: { args: [ptr], returns: ptr },

  rd_kafka_ListConsumerGroupOffsets_new: { args: [ptr, ptr], returns: ptr },
  rd_kafka_ListConsumerGroupOffsets_destroy: { args: [ptr], returns: none },
  rd_kafka_ListConsumerGroupOffsets: { args: [ptr, ptr, usize, ptr, ptr], returns: none },
  rd_kafka_event_ListConsumerGroupOffsets_result: { args: [ptr], returns: ptr },
  rd_kafka_ListConsumerGroupOffsets_result_groups: { args: [ptr, ptr], returns: ptr },
  rd_kafka_group_result_error: { args: [ptr], returns: ptr },
  rd_kafka_group_result_partitions: { args: [ptr], returns: ptr },
} as const

function load(path: string) {
  if (!existsSync(path)) {
    throw new Error(
      `librdkafka not found at ${path}: run scripts/fetch-librdkafka.sh (part of scripts/bootstrap.sh), ` +
        'or set LIBRDKAFKA_PATH to a librdkafka.so.1',
    )
  }
  return dlopen(path, symbols)
}

/**
 * bun:ffi types a pointer result as `Pointer | bigint | null`; it returns a number or null on 64-bit
 * Linux (pointers fit in 52 bits there), so the functions are typed that way.
 */
type PointerResults<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => infer R
    ? (...args: A) => null extends R ? (bigint extends R ? Pointer | null : R) : R
    : T[K]
}
type Symbols = PointerResults<ReturnType<typeof load>['symbols']>

let loaded: Symbols | undefined

/** The library's functions; loads it on first use (so importing the module costs nothing). */
export function rd(): Symbols {
  loaded ??= load(libraryPath()).symbols as unknown as Symbols
  return loaded
}

/** "2.16.0", as the loaded library reports itself. */
export function loadedVersion(): string {
  return String(rd().rd_kafka_version_str())
}
