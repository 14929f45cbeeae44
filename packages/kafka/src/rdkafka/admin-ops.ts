/**
 * librdkafka's asynchronous Admin API on any handle of the module (producer, consumer or admin): each
 * request's result arrives as an event on the handle's queue (client.ts), is read into plain values
 * here, and is freed by the queue pump. Inputs are copied by librdkafka, so they are freed right away.
 * Topics here; cluster, offsets and group offsets in admin-offsets.ts.
 */
import { type Pointer, ptr } from 'bun:ffi'
import type { CreateTopicSpec, PartitionDescription } from '../types'
import type { NativeClient } from './client'
import { rd } from './library'
import { arrayOf, cstr, cstringIn, ERR, kafkaErrorOf, stringAt } from './native'

const OP = { CREATETOPICS: 1, DELETETOPICS: 2, DESCRIBECONFIGS: 5, DESCRIBETOPICS: 19 } as const
const RESOURCE_TOPIC = 2

/** The request as a whole failed (timeout, no broker): throws the module's error for it. */
export function checkEvent(event: Pointer, context: string): void {
  const lib = rd()
  const code = lib.rd_kafka_event_error(event)
  if (code !== ERR.NO_ERROR) throw kafkaErrorOf(code, context, String(lib.rd_kafka_event_error_string(event)))
}

/** `const rd_kafka_error_t *` owned by a result (not freed here) → thrown error, if any. */
export function checkBorrowedError(error: Pointer | null, context: string, topic?: string): void {
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
    OP.DESCRIBETOPICS,
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

/**
 * Native request objects made for one call and destroyed right after it, on every path (librdkafka
 * copies what it keeps): `make` builds each (and frees its own on failure), `use` gets their array.
 */
export function withNativeObjects<S, T>(
  sources: readonly S[],
  make: (source: S) => Pointer,
  destroy: (object: Pointer) => void,
  use: (array: Pointer, count: number) => T,
): T {
  const made: Pointer[] = []
  try {
    for (const source of sources) made.push(make(source))
    const array = new BigUint64Array(Math.max(1, made.length))
    made.forEach((object, i) => {
      array[i] = BigInt(object)
    })
    return use(ptr(array), made.length)
  } finally {
    for (const object of made) destroy(object)
  }
}

/**
 * CreateTopics and DeleteTopics are one request: a native object per topic in (made for the call and
 * destroyed after it), a `rd_kafka_topic_result_t` per topic out, of which the first failure is thrown.
 * They differ only in the functions named here, taken from the library when the request is made.
 */
interface TopicsRequest<S> {
  op: number
  /** 'create topic': the error names it with the topic. */
  context: string
  make: (source: S) => Pointer
  destroy: (object: Pointer) => void
  send: (handle: Pointer, array: Pointer, count: number, options: Pointer, queue: Pointer) => void
  resultOf: (event: Pointer) => Pointer | null
  topicsOf: (result: Pointer | null, cnt: Pointer) => Pointer | null
}

function topicsRequest<S>(
  client: NativeClient,
  sources: readonly S[],
  timeoutMs: number,
  request: (lib: ReturnType<typeof rd>) => TopicsRequest<S>,
): Promise<void> {
  const lib = rd()
  const { op, context, make, destroy, send, resultOf, topicsOf } = request(lib)
  return client.admin(
    op,
    timeoutMs,
    (options, queue) =>
      withNativeObjects(sources, make, destroy, (array, count) =>
        send(client.handle, array, count, options, queue),
      ),
    (event) => {
      checkEvent(event, `${context}s`)
      const result = resultOf(event)
      for (const r of arrayOf((cnt) => topicsOf(result, cnt))) {
        const code = lib.rd_kafka_topic_result_error(r)
        if (code === ERR.NO_ERROR) continue
        const topic = String(lib.rd_kafka_topic_result_name(r))
        throw kafkaErrorOf(code, `${context} ${topic}`, String(lib.rd_kafka_topic_result_error_string(r)))
      }
    },
  )
}

/** A `rd_kafka_NewTopic_t *` with its configs (freed here if a config is refused). */
function newTopic(spec: CreateTopicSpec): Pointer {
  const lib = rd()
  const errstr = Buffer.alloc(512)
  const topic = lib.rd_kafka_NewTopic_new(
    cstr(spec.topic),
    spec.partitions,
    spec.replicationFactor,
    errstr,
    errstr.length,
  )
  if (topic === null) throw kafkaErrorOf(-186, `create topic ${spec.topic}`, cstringIn(errstr))
  for (const [name, value] of Object.entries(spec.configs ?? {})) {
    const code = lib.rd_kafka_NewTopic_set_config(topic, cstr(name), cstr(value))
    if (code !== ERR.NO_ERROR) {
      lib.rd_kafka_NewTopic_destroy(topic)
      throw kafkaErrorOf(code, `config ${name} of ${spec.topic}`)
    }
  }
  return topic
}

export const createTopics = (client: NativeClient, specs: readonly CreateTopicSpec[], timeoutMs: number) =>
  topicsRequest(client, specs, timeoutMs, (lib) => ({
    op: OP.CREATETOPICS,
    context: 'create topic',
    make: newTopic,
    destroy: lib.rd_kafka_NewTopic_destroy,
    send: lib.rd_kafka_CreateTopics,
    resultOf: lib.rd_kafka_event_CreateTopics_result,
    topicsOf: lib.rd_kafka_CreateTopics_result_topics,
  }))

export const deleteTopics = (client: NativeClient, topics: readonly string[], timeoutMs: number) =>
  topicsRequest(client, topics, timeoutMs, (lib) => ({
    op: OP.DELETETOPICS,
    context: 'delete topic',
    make: (topic) => lib.rd_kafka_DeleteTopic_new(cstr(topic)) as Pointer,
    destroy: lib.rd_kafka_DeleteTopic_destroy,
    send: lib.rd_kafka_DeleteTopics,
    resultOf: lib.rd_kafka_event_DeleteTopics_result,
    topicsOf: lib.rd_kafka_DeleteTopics_result_topics,
  }))

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
    (options, queue) =>
      withNativeObjects(
        topics,
        (topic) => lib.rd_kafka_ConfigResource_new(RESOURCE_TOPIC, cstr(topic)) as Pointer,
        lib.rd_kafka_ConfigResource_destroy,
        (array, count) => lib.rd_kafka_DescribeConfigs(client.handle, array, count, options, queue),
      ),
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
