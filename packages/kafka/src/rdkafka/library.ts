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

/**
 * Functions that share one signature, declared once per signature: `{ [name]: { args, returns } }`
 * with the literal types dlopen needs to type each function.
 */
function same<const A extends readonly FFIType[], const R extends FFIType, const N extends string>(
  args: A,
  returns: R,
  names: readonly N[],
): { [K in N]: { args: A; returns: R } } {
  return Object.fromEntries(names.map((name) => [name, { args, returns }])) as {
    [K in N]: { args: A; returns: R }
  }
}

const symbols = {
  ...same([ptr, ptr], none, [
    'rd_kafka_mem_free',
    'rd_kafka_queue_forward',
    'rd_kafka_AdminOptions_set_opaque',
  ]),
  ...same([ptr], none, [
    'rd_kafka_conf_destroy',
    'rd_kafka_destroy',
    'rd_kafka_metadata_destroy',
    'rd_kafka_queue_destroy',
    'rd_kafka_event_destroy',
    'rd_kafka_error_destroy',
    'rd_kafka_topic_destroy',
    'rd_kafka_topic_partition_list_destroy',
    'rd_kafka_AdminOptions_destroy',
    'rd_kafka_NewTopic_destroy',
    'rd_kafka_DeleteTopic_destroy',
    'rd_kafka_ConfigResource_destroy',
    'rd_kafka_TopicCollection_destroy',
    'rd_kafka_ListConsumerGroupOffsets_destroy',
  ]),
  ...same([ptr], ptr, [
    'rd_kafka_memberid',
    'rd_kafka_queue_get_main',
    'rd_kafka_queue_get_consumer',
    'rd_kafka_queue_new',
    'rd_kafka_event_message_next',
    'rd_kafka_event_opaque',
    'rd_kafka_event_topic_partition_list',
    'rd_kafka_begin_transaction',
    'rd_kafka_event_CreateTopics_result',
    'rd_kafka_event_DeleteTopics_result',
    'rd_kafka_DeleteTopic_new',
    'rd_kafka_ConfigEntry_value',
    'rd_kafka_event_DescribeConfigs_result',
    'rd_kafka_event_DescribeTopics_result',
    'rd_kafka_TopicDescription_error',
    'rd_kafka_TopicPartitionInfo_leader',
    'rd_kafka_event_DescribeCluster_result',
    'rd_kafka_DescribeCluster_result_controller',
    'rd_kafka_event_ListOffsets_result',
    'rd_kafka_ListOffsetsResultInfo_topic_partition',
    'rd_kafka_event_ListConsumerGroupOffsets_result',
    'rd_kafka_group_result_error',
    'rd_kafka_group_result_partitions',
  ]),
  ...same([ptr, i32], ptr, [
    'rd_kafka_queue_poll',
    'rd_kafka_init_transactions',
    'rd_kafka_commit_transaction',
    'rd_kafka_abort_transaction',
    'rd_kafka_AdminOptions_new',
    'rd_kafka_AdminOptions_set_isolation_level',
  ]),
  ...same([ptr, ptr], i32, [
    'rd_kafka_set_log_queue',
    'rd_kafka_message_headers',
    'rd_kafka_subscribe',
    'rd_kafka_assign',
    'rd_kafka_pause_partitions',
    'rd_kafka_resume_partitions',
  ]),
  ...same([ptr], i32, [
    'rd_kafka_poll_set_consumer',
    'rd_kafka_outq_len',
    'rd_kafka_event_type',
    'rd_kafka_event_error',
    'rd_kafka_event_error_is_fatal',
    'rd_kafka_error_code',
    'rd_kafka_error_is_fatal',
    'rd_kafka_error_is_retriable',
    'rd_kafka_error_txn_requires_abort',
    'rd_kafka_assignment_lost',
    'rd_kafka_consumer_closed',
    'rd_kafka_topic_result_error',
    'rd_kafka_ConfigResource_error',
    'rd_kafka_TopicPartitionInfo_partition',
    'rd_kafka_Node_id',
  ]),
  ...same([ptr], cstring, [
    'rd_kafka_event_error_string',
    'rd_kafka_error_string',
    'rd_kafka_topic_name',
    'rd_kafka_rebalance_protocol',
    'rd_kafka_topic_result_error_string',
    'rd_kafka_topic_result_name',
    'rd_kafka_ConfigResource_name',
    'rd_kafka_ConfigEntry_name',
    'rd_kafka_TopicDescription_name',
    'rd_kafka_DescribeCluster_result_cluster_id',
    'rd_kafka_Node_host',
  ]),
  ...same([ptr, ptr], ptr, [
    'rd_kafka_incremental_assign',
    'rd_kafka_incremental_unassign',
    'rd_kafka_consumer_close_queue',
    'rd_kafka_CreateTopics_result_topics',
    'rd_kafka_DeleteTopics_result_topics',
    'rd_kafka_ConfigResource_configs',
    'rd_kafka_DescribeConfigs_result_resources',
    'rd_kafka_DescribeTopics_result_topics',
    'rd_kafka_TopicDescription_partitions',
    'rd_kafka_TopicPartitionInfo_isr',
    'rd_kafka_TopicPartitionInfo_replicas',
    'rd_kafka_DescribeCluster_result_nodes',
    'rd_kafka_ListOffsets_result_infos',
    'rd_kafka_ListConsumerGroupOffsets_new',
    'rd_kafka_ListConsumerGroupOffsets_result_groups',
  ]),
  ...same([ptr, ptr, usize, ptr, ptr], none, [
    'rd_kafka_CreateTopics',
    'rd_kafka_DeleteTopics',
    'rd_kafka_DescribeConfigs',
    'rd_kafka_ListConsumerGroupOffsets',
  ]),
  rd_kafka_version_str: { args: [], returns: cstring },
  rd_kafka_err2str: { args: [i32], returns: cstring },
  rd_kafka_err2name: { args: [i32], returns: cstring },
  rd_kafka_conf_new: { args: [], returns: ptr },
  rd_kafka_conf_set: { args: [ptr, ptr, ptr, ptr, usize], returns: i32 },
  rd_kafka_conf_set_events: { args: [ptr, i32], returns: none },
  rd_kafka_destroy_flags: { args: [ptr, i32], returns: none },
  rd_kafka_new: { args: [i32, ptr, ptr, usize], returns: ptr },
  rd_kafka_fatal_error: { args: [ptr, ptr, usize], returns: i32 },
  rd_kafka_queue_io_event_enable: { args: [ptr, i32, ptr, usize], returns: none },
  rd_kafka_purge: { args: [ptr, i32], returns: i32 },
  rd_kafka_event_log: { args: [ptr, ptr, ptr, ptr], returns: i32 },
  rd_kafka_topic_new: { args: [ptr, ptr, ptr], returns: ptr },
  rd_kafka_produceva: { args: [ptr, ptr, usize], returns: ptr },
  rd_kafka_message_timestamp: { args: [ptr, ptr], returns: i64 },
  rd_kafka_header_get_all: { args: [ptr, usize, ptr, ptr, ptr], returns: i32 },
  rd_kafka_topic_partition_list_new: { args: [i32], returns: ptr },
  rd_kafka_topic_partition_list_add: { args: [ptr, ptr, i32], returns: ptr },
  rd_kafka_seek_partitions: { args: [ptr, ptr, i32], returns: ptr },
  rd_kafka_commit_queue: { args: [ptr, ptr, ptr, ptr, ptr], returns: i32 },
  rd_kafka_position: { args: [ptr, ptr], returns: i32 },
  rd_kafka_get_watermark_offsets: { args: [ptr, ptr, i32, ptr, ptr], returns: i32 },
  rd_kafka_AdminOptions_set_request_timeout: { args: [ptr, i32, ptr, usize], returns: i32 },
  rd_kafka_NewTopic_new: { args: [ptr, i32, i32, ptr, usize], returns: ptr },
  rd_kafka_NewTopic_set_config: { args: [ptr, ptr, ptr], returns: i32 },
  rd_kafka_ConfigResource_new: { args: [i32, ptr], returns: ptr },
  rd_kafka_TopicCollection_of_topic_names: { args: [ptr, usize], returns: ptr },
  rd_kafka_DescribeTopics: { args: [ptr, ptr, ptr, ptr], returns: none },
  rd_kafka_ListOffsets: { args: [ptr, ptr, ptr, ptr], returns: none },
  rd_kafka_DescribeCluster: { args: [ptr, ptr, ptr], returns: none },
  rd_kafka_Node_port: { args: [ptr], returns: FFIType.u16 },
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
