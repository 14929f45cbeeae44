import { afterAll, beforeAll, expect, test } from 'bun:test'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { stackEnv, waitFor } from '@vehicles/testing'
import { createTestTopics, stackBrokers, topicSpec, uniqueName } from '@vehicles/testing/kafka'
import { createAdmin } from './admin'
import { createProducer } from './producer'
import type { Admin } from './types'

/**
 * Idempotence, checked where it is real: in the broker's log. An idempotent producer writes record
 * batches with a producer id and consecutive base sequences; a plain one writes producerId -1. Read with
 * Kafka's own DumpLogSegments, run by the brokers' JVM on the brokers' jars (read-only).
 */
const env = stackEnv()
const brokers = stackBrokers()
const topic = uniqueName('idempotence')
let admin: Admin
let dropTopics: () => Promise<void> = async () => {}

beforeAll(async () => {
  admin = createAdmin({ brokers, clientId: uniqueName('admin') })
  await admin.connect()
  dropTopics = await createTestTopics(admin, [topicSpec(topic, { partitions: 1 })])
})

afterAll(async () => {
  await dropTopics()
  await admin?.disconnect()
})

function brokerTools(): { java: string; classpath: string; dataDir: string } {
  const stackDir = env.STACK_DIR
  if (stackDir === undefined)
    throw new Error('stack.env has no STACK_DIR: cannot find the brokers to inspect')
  const pidFile = join(stackDir, 'run', 'kafka-1.pid')
  const { pid } = JSON.parse(readFileSync(pidFile, 'utf8')) as { pid: number }
  const java = `/proc/${pid}/exe`
  const lib = readdirSync(join(stackDir, 'lib')).find((d) => d.startsWith('kafka-'))
  if (lib === undefined || !existsSync(java)) throw new Error(`no broker JVM or Kafka jars under ${stackDir}`)
  return {
    java,
    classpath: join(stackDir, 'lib', lib, 'jars', '*'),
    dataDir: join(stackDir, 'kafka-1', 'data'),
  }
}

test('records are written with a producer id and consecutive sequences (idempotent producer)', async () => {
  const producer = createProducer({ brokers, clientId: uniqueName('producer') })
  try {
    await producer.connect()
    await producer.send([{ topic, key: 'k', value: Buffer.from('first') }])
    await producer.send([
      { topic, key: 'k', value: Buffer.from('second') },
      { topic, key: 'k', value: Buffer.from('third') },
    ])
  } finally {
    await producer.disconnect()
  }
  const tools = brokerTools()
  const segment = join(tools.dataDir, `${topic}-0`, '00000000000000000000.log')
  await waitFor('the replica segment on broker 1', () => (existsSync(segment) ? true : undefined))
  const dump = await waitFor(
    'two batches in the dumped segment',
    () => {
      const run = Bun.spawnSync([
        tools.java,
        '-cp',
        tools.classpath,
        'kafka.tools.DumpLogSegments',
        '--files',
        segment,
      ])
      const out = run.stdout.toString()
      const batches = out.split('\n').filter((l) => l.includes('baseOffset:'))
      if (batches.length >= 2) return batches
      throw new Error(`exit ${run.exitCode}: ${out.slice(-500)} ${run.stderr.toString().slice(-500)}`)
    },
    { timeoutMs: 60_000, intervalMs: 1_000 },
  )
  const field = (line: string, name: string) => Number(new RegExp(`${name}: (-?\\d+)`).exec(line)?.[1])
  const [first, second] = dump
  expect(field(first as string, 'producerId')).toBeGreaterThanOrEqual(0)
  expect(field(second as string, 'producerId')).toBe(field(first as string, 'producerId'))
  expect(field(first as string, 'baseSequence')).toBe(0)
  expect(field(second as string, 'baseSequence')).toBe(1)
  expect(field(second as string, 'lastSequence')).toBe(2)
}, 120_000)
