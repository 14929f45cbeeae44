/**
 * Prototype: librdkafka (Debian's librdkafka1) through bun:ffi, measured as the fallback the issue asks
 * for when no Bun client reaches half of kcat's produce rate. Producer and consumer only, enough for
 * the bake-off; not a client for the services.
 *
 * Threading: librdkafka runs its own threads, but delivery reports and consumed messages are handed out
 * only inside rd_kafka_poll / rd_kafka_consume_batch_queue, which we call from the JS thread, so the
 * JSCallback always runs on the JS thread.
 */
import { CString, dlopen, FFIType, JSCallback, type Pointer, ptr, read } from 'bun:ffi'
import { type Candidate, main } from '../driver'

const lib = dlopen('/usr/lib/x86_64-linux-gnu/librdkafka.so.1', {
  rd_kafka_version_str: { args: [], returns: FFIType.cstring },
  rd_kafka_conf_new: { args: [], returns: FFIType.ptr },
  rd_kafka_conf_set: {
    args: [FFIType.ptr, FFIType.cstring, FFIType.cstring, FFIType.ptr, FFIType.u64],
    returns: FFIType.i32,
  },
  rd_kafka_conf_set_dr_msg_cb: { args: [FFIType.ptr, FFIType.function], returns: FFIType.void },
  rd_kafka_new: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr, FFIType.u64], returns: FFIType.ptr },
  rd_kafka_topic_new: { args: [FFIType.ptr, FFIType.cstring, FFIType.ptr], returns: FFIType.ptr },
  rd_kafka_produce: {
    args: [
      FFIType.ptr,
      FFIType.i32,
      FFIType.i32,
      FFIType.ptr,
      FFIType.u64,
      FFIType.ptr,
      FFIType.u64,
      FFIType.u64,
    ],
    returns: FFIType.i32,
  },
  rd_kafka_poll: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  rd_kafka_flush: { args: [FFIType.ptr, FFIType.i32], returns: FFIType.i32 },
  rd_kafka_last_error: { args: [], returns: FFIType.i32 },
  rd_kafka_err2str: { args: [FFIType.i32], returns: FFIType.cstring },
  rd_kafka_poll_set_consumer: { args: [FFIType.ptr], returns: FFIType.i32 },
  rd_kafka_topic_partition_list_new: { args: [FFIType.i32], returns: FFIType.ptr },
  rd_kafka_topic_partition_list_add: {
    args: [FFIType.ptr, FFIType.cstring, FFIType.i32],
    returns: FFIType.ptr,
  },
  rd_kafka_topic_partition_list_destroy: { args: [FFIType.ptr], returns: FFIType.void },
  rd_kafka_subscribe: { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  rd_kafka_queue_get_consumer: { args: [FFIType.ptr], returns: FFIType.ptr },
  rd_kafka_consume_batch_queue: {
    args: [FFIType.ptr, FFIType.i32, FFIType.ptr, FFIType.u64],
    returns: FFIType.i64,
  },
  rd_kafka_message_destroy: { args: [FFIType.ptr], returns: FFIType.void },
  rd_kafka_queue_destroy: { args: [FFIType.ptr], returns: FFIType.void },
  rd_kafka_consumer_close: { args: [FFIType.ptr], returns: FFIType.i32 },
  rd_kafka_topic_destroy: { args: [FFIType.ptr], returns: FFIType.void },
  rd_kafka_destroy: { args: [FFIType.ptr], returns: FFIType.void },
})
const rd = lib.symbols
const RD_KAFKA_PRODUCER = 0
const RD_KAFKA_CONSUMER = 1
const PARTITION_UA = -1
const MSG_F_COPY = 0x2
const ERR_QUEUE_FULL = -184
const ERR_PARTITION_EOF = -191

const cstr = (s: string) => Buffer.from(`${s}\0`)
const errbuf = Buffer.alloc(512)

function configure(settings: Record<string, string>): Pointer {
  const conf = rd.rd_kafka_conf_new() as Pointer | null
  if (conf === null) throw new Error('rd_kafka_conf_new failed')
  for (const [k, v] of Object.entries(settings)) {
    if (rd.rd_kafka_conf_set(conf, cstr(k), cstr(v), ptr(errbuf), errbuf.length) !== 0) {
      throw new Error(`conf ${k}=${v}: ${new CString(ptr(errbuf))}`)
    }
  }
  return conf
}

await main(async (args) => {
  const waiting = new Map<number, { left: number; resolve: () => void; reject: (e: Error) => void }>()
  let nextId = 1
  // rd_kafka_message_t on x86_64: err i32 @0, rkt @8, partition @16, payload @24, len @32, key @40,
  // key_len @48, offset @56, _private (msg_opaque) @64.
  const onDelivery = new JSCallback(
    (_rk: Pointer, msg: Pointer) => {
      const err = read.i32(msg, 0)
      const id = Number(read.u64(msg, 64))
      const w = waiting.get(id)
      if (w === undefined) return
      if (err !== 0) {
        waiting.delete(id)
        w.reject(new Error(`delivery failed: ${rd.rd_kafka_err2str(err)}`))
      } else if (--w.left === 0) {
        waiting.delete(id)
        w.resolve()
      }
    },
    { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.void },
  )
  const pconf = configure({
    'bootstrap.servers': args.brokers.join(','),
    'client.id': `bench-ffi-${process.pid}`,
    'enable.idempotence': 'true',
    acks: 'all',
    partitioner: 'murmur2_random',
  })
  rd.rd_kafka_conf_set_dr_msg_cb(pconf, onDelivery.ptr)
  const producer = rd.rd_kafka_new(RD_KAFKA_PRODUCER, pconf, ptr(errbuf), errbuf.length)
  if (producer === null) throw new Error(`rd_kafka_new: ${new CString(ptr(errbuf))}`)
  const topic = rd.rd_kafka_topic_new(producer, cstr(args.topic), null)
  if (topic === null) throw new Error('rd_kafka_topic_new failed')
  // Serve delivery reports every millisecond (and while producing, below).
  const poller = setInterval(() => rd.rd_kafka_poll(producer, 0), 1)

  async function produce(records: { key: Buffer; value: Buffer }[]): Promise<void> {
    const id = nextId++
    const done = new Promise<void>((resolve, reject) =>
      waiting.set(id, { left: records.length, resolve, reject }),
    )
    for (const r of records) {
      for (;;) {
        const rc = rd.rd_kafka_produce(
          topic,
          PARTITION_UA,
          MSG_F_COPY,
          ptr(r.value),
          r.value.length,
          ptr(r.key),
          r.key.length,
          id,
        )
        if (rc === 0) break
        const err = rd.rd_kafka_last_error()
        if (err !== ERR_QUEUE_FULL) throw new Error(`produce: ${rd.rd_kafka_err2str(err)}`)
        rd.rd_kafka_poll(producer, 1)
        await new Promise((r) => setImmediate(r))
      }
    }
    rd.rd_kafka_poll(producer, 0)
    return done
  }

  let consumer: Pointer | null = null
  let queue: Pointer | null = null
  const candidate: Candidate = {
    name: `librdkafka ${rd.rd_kafka_version_str()} via bun:ffi (prototype)`,
    produceBatch: produce,
    sendOne: (r) => produce([r]),
    consume: async (name, count, onMessage) => {
      const cconf = configure({
        'bootstrap.servers': args.brokers.join(','),
        'group.id': `bench-ffi-${process.pid}-${Date.now()}`,
        'enable.auto.commit': 'false',
        'auto.offset.reset': 'earliest',
        'isolation.level': 'read_committed',
      })
      consumer = rd.rd_kafka_new(RD_KAFKA_CONSUMER, cconf, ptr(errbuf), errbuf.length) as Pointer | null
      if (consumer === null) throw new Error(`rd_kafka_new consumer: ${new CString(ptr(errbuf))}`)
      rd.rd_kafka_poll_set_consumer(consumer)
      const list = rd.rd_kafka_topic_partition_list_new(1)
      rd.rd_kafka_topic_partition_list_add(list, cstr(name), PARTITION_UA)
      if (rd.rd_kafka_subscribe(consumer, list) !== 0) throw new Error('subscribe failed')
      rd.rd_kafka_topic_partition_list_destroy(list)
      queue = rd.rd_kafka_queue_get_consumer(consumer) as Pointer | null
      const slots = new BigUint64Array(1000)
      let n = 0
      while (n < count) {
        // Short blocking waits keep the JS thread mostly in librdkafka while data flows.
        const got = Number(rd.rd_kafka_consume_batch_queue(queue, 100, ptr(slots), slots.length))
        for (let i = 0; i < got; i++) {
          const m = Number(slots[i]) as Pointer
          const err = read.i32(m, 0)
          if (err === 0) {
            onMessage()
            n++
          } else if (err !== ERR_PARTITION_EOF) {
            throw new Error(`consume: ${rd.rd_kafka_err2str(err)}`)
          }
          rd.rd_kafka_message_destroy(m)
        }
        if (got <= 0) await new Promise((r) => setImmediate(r))
      }
    },
    close: async () => {
      if (queue !== null) rd.rd_kafka_queue_destroy(queue)
      if (consumer !== null) {
        rd.rd_kafka_consumer_close(consumer)
        rd.rd_kafka_destroy(consumer)
      }
      rd.rd_kafka_flush(producer, 10_000)
      clearInterval(poller)
      rd.rd_kafka_topic_destroy(topic)
      rd.rd_kafka_destroy(producer)
    },
  }
  return candidate
}, `bun ${Bun.version}`)
