import type { Pointer } from 'bun:ffi'
import { KafkaUnavailableError } from '../errors'
import type { ConsumedMessage } from '../types'
import { baseSettings, createNativeClient, EVENT } from './client'
import { rd } from './library'
import { messageError, type TopicNames, toConsumedMessage } from './message'
import { ERR, kafkaErrorOf, withPartitionList } from './native'

/** A read-back reads what is already stable; if that takes longer, something is wrong with the cluster. */
const READ_BACK_TIMEOUT_MS = 30_000

/**
 * Reads [from, end) of one partition under read_committed with an assign-only consumer (no group):
 * records of aborted transactions and markers are skipped by librdkafka; partition EOF at the last
 * stable offset ends the read.
 */
export function readRange(
  brokers: readonly string[],
  clientId: string,
  topic: string,
  partition: number,
  from: bigint,
  end: bigint,
): Promise<ConsumedMessage[]> {
  const lib = rd()
  const records: ConsumedMessage[] = []
  const topicNames: TopicNames = new Map()
  let settle: ((error?: Error) => void) | undefined
  const finished = new Promise<void>((resolve, reject) => {
    settle = (error) => (error === undefined ? resolve() : reject(error))
  })
  const client = createNativeClient({
    kind: 'consumer',
    settings: {
      ...baseSettings(brokers, `${clientId}-read-back`),
      'group.id': `${clientId}-read-back-unused`,
      'isolation.level': 'read_committed',
      'enable.auto.commit': 'false',
      'enable.partition.eof': 'true',
      'auto.offset.reset': 'error',
    },
    events: EVENT.FETCH,
    onEvent: (type, event) => {
      if (type !== EVENT.FETCH) return
      for (;;) {
        const message = lib.rd_kafka_event_message_next(event)
        if (message === null) return
        const err = messageError(message)
        if (err === ERR.PARTITION_EOF) {
          settle?.()
          continue
        }
        if (err !== ERR.NO_ERROR) {
          settle?.(kafkaErrorOf(err, `read back ${topic}/${partition}`))
          continue
        }
        const consumed = toConsumedMessage(message, topicNames)
        if (BigInt(consumed.offset) < end) records.push(consumed)
        if (BigInt(consumed.offset) >= end - 1n) settle?.()
      }
    },
    onError: (error, fatal, code) => {
      // A consumer's partition EOF is an error event: here it means "read up to the stable offset".
      if (code === ERR.PARTITION_EOF) settle?.()
      else if (fatal) settle?.(error)
    },
  })
  return (async () => {
    try {
      withPartitionList([{ topic, partition, offset: from }], (list) => {
        const code = lib.rd_kafka_assign(client.handle, list)
        if (code !== ERR.NO_ERROR) throw kafkaErrorOf(code, `assign ${topic}/${partition}`)
      })
      const timeout = Bun.sleep(READ_BACK_TIMEOUT_MS).then(() => {
        throw new KafkaUnavailableError(
          `read back of ${topic}/${partition} took over ${READ_BACK_TIMEOUT_MS} ms`,
        )
      })
      await Promise.race([finished, timeout])
      return records
    } finally {
      lib.rd_kafka_assign(client.handle, null as unknown as Pointer)
      await client.close()
    }
  })()
}
