/**
 * The committed AsyncAPI document: up to date with its sources, valid for the official parser, and true
 * to what the services do (topics, groups, headers are read back from their configuration and code).
 */
import { describe, expect, test } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Parser } from '@asyncapi/parser'
import type { ConsumedMessage, Producer, ProducerRecord } from '../../../kafka/src/types'
import { packageRoot } from '../generate'
import { dlqTopic, TOPICS, TOPICS_FILE, type TopicsDefinition, topicSettings } from '../topics'
import { ASYNCAPI_FILE } from './file'
import { asyncApiSource } from './generate'
import { CONSUMER_GROUPS, DEAD_LETTER_HEADERS, EVENT_HEADERS, RELAY_HEADERS, SERVICES } from './system'

const repoRoot = resolve(packageRoot, '..', '..')
const committed = readFileSync(join(packageRoot, ASYNCAPI_FILE), 'utf8')
const document = JSON.parse(committed) as {
  channels: Record<string, { address: string; bindings: { kafka: Record<string, unknown> } }>
  operations: Record<
    string,
    { action: string; channel: { $ref: string }; bindings?: { kafka: { groupId: { enum: string[] } } } }
  >
  components: { messages: Record<string, { headers: { properties: Record<string, unknown> } }> }
}

/**
 * Parser diagnostics below warning level that are expected, each with the reason it stays.
 * Anything of severity error (0) or warning (1) fails the test whatever its code.
 */
const EXPLAINED: Record<string, string> = {
  // The parser recommends the newest spec version (3.1.0); the system documents itself in AsyncAPI 3.0,
  // which every current tool (the React component served at /asyncapi among them) reads.
  'asyncapi-latest-version': 'AsyncAPI 3.0.0 is the version asked for',
}

describe('AsyncAPI document', () => {
  test(`${ASYNCAPI_FILE} is up to date (run \`bun run --filter @vehicles/contracts generate\`)`, () => {
    expect(committed).toBe(asyncApiSource())
  })

  test('@asyncapi/parser: no error, no warning, and only explained notes', async () => {
    const { document: parsed, diagnostics } = await new Parser().parse(committed)
    const seen = diagnostics.map((d) => ({
      severity: d.severity,
      code: String(d.code),
      message: d.message,
      path: d.path.join('/'),
    }))
    // Severity: 0 error, 1 warning, 2 information, 3 hint.
    expect(seen.filter((d) => d.severity <= 1)).toEqual([])
    expect(seen.filter((d) => !(d.code in EXPLAINED))).toEqual([])
    expect(parsed).toBeDefined()
    expect(parsed?.version()).toBe('3.0.0')
  }, 30_000)

  test('every topic of infra/topics.json is a channel, with its partitions, replicas and configs', () => {
    const channels = Object.values(document.channels)
    const generated = JSON.parse(readFileSync(join(repoRoot, TOPICS_FILE), 'utf8')) as TopicsDefinition
    for (const topic of topicSettings(generated)) {
      const found = channels.find((channel) => channel.address === topic.name)
      expect({ topic: topic.name, found: found !== undefined }).toEqual({ topic: topic.name, found: true })
      expect(found?.bindings.kafka).toMatchObject({ partitions: topic.partitions, replicas: topic.replicas })
      const configs = found?.bindings.kafka.topicConfiguration as Record<string, unknown>
      for (const [key, value] of Object.entries(topic.configs)) expect(String(configs[key])).toBe(value)
    }
    expect(channels.map((c) => c.address).sort()).toEqual(
      [
        TOPICS.vehicleCreated,
        TOPICS.vehicleProcessed,
        dlqTopic(TOPICS.vehicleCreated),
        dlqTopic(TOPICS.vehicleProcessed),
      ].sort(),
    )
  })

  test('each event topic has one sender and one receiver in the documented group, and a dead-letter sender', () => {
    for (const [topic, group] of Object.entries(CONSUMER_GROUPS)) {
      const channelId = Object.entries(document.channels).find(([, c]) => c.address === topic)?.[0]
      const dlqId = Object.entries(document.channels).find(([, c]) => c.address === dlqTopic(topic))?.[0]
      const on = (id: string | undefined) =>
        Object.values(document.operations).filter((op) => op.channel.$ref === `#/channels/${id}`)
      expect(
        on(channelId)
          .map((op) => op.action)
          .sort(),
      ).toEqual(['receive', 'send'])
      expect(on(channelId).find((op) => op.action === 'receive')?.bindings?.kafka.groupId.enum).toEqual([
        group,
      ])
      expect(on(dlqId).map((op) => op.action)).toEqual(['send'])
    }
  })
})

describe('AsyncAPI document matches the services', () => {
  test("consumer groups are the services' configured defaults", async () => {
    const { AdsConfigSchema } = await import('../../../ads/src/config')
    expect(AdsConfigSchema.properties.GROUP_ID.default).toBe(CONSUMER_GROUPS[TOPICS.vehicleProcessed])
    const estimatorConfig = readFileSync(join(repoRoot, 'estimator/src/estimator/config.py'), 'utf8')
    const pythonDefault = /^\s*group_id: .*= "([^"]+)"$/m.exec(estimatorConfig)?.[1]
    expect(pythonDefault).toBe(CONSUMER_GROUPS[TOPICS.vehicleCreated])
    expect(Object.values(CONSUMER_GROUPS).sort()).toEqual([SERVICES.ads, SERVICES.estimator].sort())
  })

  test("event headers are the ones stock's outbox and the estimator write", async () => {
    const { outboxEntry } = await import('../../../stock/src/outbox/enqueue')
    const entry = outboxEntry({
      topic: TOPICS.vehicleCreated,
      aggregateType: 'vehicle',
      aggregateId: '00000000-0000-4000-8000-000000000001',
      eventId: '00000000-0000-4000-8000-000000000002',
      payload: {},
    })
    expect(Object.keys(entry.headers).sort()).toEqual(Object.values(EVENT_HEADERS).sort())
    expect(entry.key).toBe(entry.aggregateId)
    // Every module of the estimator: which one writes the headers is its own business.
    const estimatorDir = join(repoRoot, 'estimator/src/estimator')
    const estimator = readdirSync(estimatorDir)
      .filter((name) => name.endsWith('.py'))
      .map((name) => readFileSync(join(estimatorDir, name), 'utf8'))
      .join('\n')
    for (const header of [...Object.values(EVENT_HEADERS), ...Object.values(DEAD_LETTER_HEADERS)]) {
      expect({ header, inEstimator: estimator.includes(`("${header}",`) }).toEqual({
        header,
        inEstimator: true,
      })
    }
    for (const message of Object.values(document.components.messages)) {
      const names = Object.keys(message.headers.properties)
      expect(names.sort()).toEqual(
        (names.includes(DEAD_LETTER_HEADERS.reason)
          ? Object.values(DEAD_LETTER_HEADERS)
          : names.includes(RELAY_HEADERS.outboxId)
            ? [...Object.values(EVENT_HEADERS), ...Object.values(RELAY_HEADERS)]
            : Object.values(EVENT_HEADERS)
        ).sort(),
      )
    }
  })

  test("relay headers are the ones stock's outbox relay writes", async () => {
    const { OUTBOX_HEADER, OUTBOX_ID_HEADER } = await import('../../../stock/src/outbox/publisher')
    expect({ outboxId: OUTBOX_ID_HEADER, outbox: OUTBOX_HEADER }).toEqual(RELAY_HEADERS)
  })

  test("dead-letter headers are the ones the TypeScript consumers' sendToDlq writes", async () => {
    const { sendToDlq } = await import('../../../kafka/src/dlq')
    const sent: ProducerRecord[] = []
    const producer: Producer = {
      connect: async () => {},
      ping: async () => {},
      disconnect: async () => {},
      send: async (records) => {
        sent.push(...records)
        return records.map((r) => ({ topic: r.topic, partition: 0, offset: '0', key: r.key }))
      },
    }
    const source: ConsumedMessage = {
      topic: TOPICS.vehicleProcessed,
      partition: 1,
      offset: '7',
      key: 'k',
      value: Buffer.from('x'),
      headers: {},
      timestamp: 0,
      attempt: 1,
    }
    await sendToDlq(producer, source, 'test reason')
    expect(sent[0]?.topic).toBe(dlqTopic(TOPICS.vehicleProcessed))
    expect(Object.keys(sent[0]?.headers ?? {}).sort()).toEqual(Object.values(DEAD_LETTER_HEADERS).sort())
  })
})
