/**
 * The AsyncAPI 3.0 description of the system's topics, built from the contracts (event schemas, topic and
 * subject names) and the topic definition (src/topics.ts). `bun run generate` writes it to
 * `asyncapi/asyncapi.json`; `asyncapi.test.ts` fails when the committed file differs.
 */
import { EVENT_CONTRACTS } from '../artifacts'
import { toJsonSchema } from '../json-schema'
import { dlqTopic, TOPICS, type TopicSettings } from '../topics'
import { HEADER_LENGTH, MAGIC_BYTE } from '../wire'
import { CONSUMER_GROUPS, DEAD_LETTER_HEADERS, EVENT_HEADERS, FLOWS, RELAY_HEADERS, SERVICES } from './system'
import { GUARANTEES, guaranteesText } from './text'

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type JsonObject = { [key: string]: Json }

/** Version of the Kafka bindings used (channel, operation, message). */
const KAFKA_BINDING = '0.5.0'
/** The schema format of the payloads: exactly the draft-07 files that are registered. */
const DRAFT_07_FORMAT = 'application/schema+json;version=draft-07'

/** Channel and message ids: AsyncAPI ids allow no dots, so `stock.vehicle-created` → `vehicleCreated`. */
const ID: Record<string, string> = {
  [TOPICS.vehicleCreated]: 'vehicleCreated',
  [TOPICS.vehicleProcessed]: 'vehicleProcessed',
}
const idOf = (topic: string): string => {
  const id = ID[topic]
  if (id === undefined) throw new Error(`no AsyncAPI id for topic ${topic}`)
  return id
}
const dlqIdOf = (topic: string): string => `${idOf(topic)}DeadLetter`
const pascal = (id: string): string => id.charAt(0).toUpperCase() + id.slice(1)

const ref = (path: string): JsonObject => ({ $ref: path })

/** The schema of a record's headers: the ones `names` lists are required. */
const headersSchema = (
  description: string,
  names: Record<string, string>,
  properties: JsonObject,
): JsonObject => ({
  type: 'object',
  description,
  required: Object.values(names),
  properties,
})

/** A record header's schema: every header is a UTF-8 string, with its rule and what it says. */
const header = (description: string, rule: JsonObject = {}): JsonObject => ({
  type: 'string',
  ...rule,
  description,
})

const vehicleIdKey: JsonObject = header(
  'the vehicle id: every event of one vehicle lands on one partition, in order',
  { format: 'uuid' },
)

function eventHeaders(topic: string): JsonObject {
  return headersSchema('Kafka record headers, UTF-8 strings', EVENT_HEADERS, {
    [EVENT_HEADERS.eventId]: header('the same value as `eventId` in the payload', { format: 'uuid' }),
    [EVENT_HEADERS.eventType]: header('the event type: the topic it was first sent to', { const: topic }),
    [EVENT_HEADERS.contentType]: header('the payload after the wire header', { const: 'application/json' }),
    ...(topic === TOPICS.vehicleCreated ? relayHeaders : {}),
  })
}

const relayHeaders: JsonObject = {
  [RELAY_HEADERS.outboxId]: header(
    'the outbox row this record was sent for; the relay identifies sent rows by it when it reads back',
    { pattern: '^[0-9]+$' },
  ),
  [RELAY_HEADERS.outbox]: header('the outbox (its transactional id): row ids are unique in one outbox only'),
}

function deadLetterHeaders(topic: string): JsonObject {
  return headersSchema(
    'the source record’s headers, unchanged, plus where it came from and why it was set aside',
    DEAD_LETTER_HEADERS,
    {
      [DEAD_LETTER_HEADERS.reason]: header(
        'why the record could not be handled (decoding, schema id, validation), naming the field',
      ),
      [DEAD_LETTER_HEADERS.sourceTopic]: { type: 'string', const: topic },
      [DEAD_LETTER_HEADERS.sourcePartition]: header('partition of the source record, decimal', {
        pattern: '^[0-9]+$',
      }),
      [DEAD_LETTER_HEADERS.sourceOffset]: header('offset of the source record, decimal', {
        pattern: '^[0-9]+$',
      }),
    },
  )
}

const wireFormat = (subject: string): string =>
  `Value in the Confluent wire format: byte 0 is the magic byte \`${MAGIC_BYTE}\`, bytes 1–4 the schema id ` +
  `(big-endian 32-bit integer, the registry's id of a version of subject \`${subject}\`), then from byte ` +
  `${HEADER_LENGTH} on the UTF-8 JSON payload described here. Readers look the id up in the registry and ` +
  'validate against that version; an unknown id, a wrong magic byte or an invalid payload sends the record to the dead-letter topic.'

function eventMessage(topic: string): [string, JsonObject] {
  const contract = EVENT_CONTRACTS.find((candidate) => candidate.topic === topic)
  if (contract === undefined) throw new Error(`no event contract for topic ${topic}`)
  const schema = toJsonSchema(contract.schema) as JsonObject
  const message: JsonObject = {
    name: pascal(idOf(topic)),
    title: String(schema.title),
    summary: `The value of \`${topic}\`, registered as subject \`${contract.subject}\`.`,
    description: wireFormat(contract.subject),
    contentType: 'application/json',
    headers: eventHeaders(topic),
    payload: { schemaFormat: DRAFT_07_FORMAT, schema },
    bindings: {
      kafka: {
        key: vehicleIdKey,
        schemaIdLocation: 'payload',
        schemaIdPayloadEncoding: 'confluent',
        schemaLookupStrategy: 'TopicNameStrategy',
        bindingVersion: KAFKA_BINDING,
      },
    },
    'x-schema-registry-subject': contract.subject,
  }
  if (topic === TOPICS.vehicleProcessed) {
    message.correlationId = {
      description: 'the `eventId` of the created event this estimate answers',
      location: '$message.payload#/causationId',
    }
  }
  return [idOf(topic), message]
}

function deadLetterMessage(topic: string): [string, JsonObject] {
  return [
    dlqIdOf(topic),
    {
      name: pascal(dlqIdOf(topic)),
      title: `Dead letter of ${topic}`,
      summary: `A record of \`${topic}\` that its consumer could not handle, set aside with the reason.`,
      description:
        'Key and value are the source record’s bytes, unchanged (the value may be anything: it failed to decode ' +
        'or to validate). A keyless source record gets the key `<topic>/<partition>/<offset>`. Nothing consumes ' +
        'these topics automatically: they are for an operator to inspect and replay.',
      headers: deadLetterHeaders(topic),
      payload: { description: 'the source record value as received, possibly not in the wire format' },
      bindings: {
        kafka: {
          key: { type: 'string', description: 'the source record key, else `<topic>/<partition>/<offset>`' },
          bindingVersion: KAFKA_BINDING,
        },
      },
    },
  ]
}

function channel(settings: TopicSettings, messageId: string, description: string): JsonObject {
  const { 'cleanup.policy': cleanup, ...otherConfigs } = settings.configs
  return {
    address: settings.name,
    title: settings.name,
    description,
    messages: { [messageId]: ref(`#/components/messages/${messageId}`) },
    bindings: {
      kafka: {
        topic: settings.name,
        partitions: settings.partitions,
        replicas: settings.replicas,
        topicConfiguration: {
          // Kafka's default when the topic definition does not set one.
          'cleanup.policy': (cleanup ?? 'delete').split(','),
          ...Object.fromEntries(
            Object.entries(otherConfigs).map(([key, value]) => [key, configValue(value)]),
          ),
        },
        bindingVersion: KAFKA_BINDING,
      },
    },
  }
}

const configValue = (value: string): Json => (/^-?\d+$/.test(value) ? Number(value) : value)

function operation(
  action: 'send' | 'receive',
  service: string,
  channelId: string,
  messageId: string,
  description: string,
  group?: string,
): JsonObject {
  const op: JsonObject = {
    action,
    channel: ref(`#/channels/${channelId}`),
    title: `${service} ${action === 'send' ? 'sends' : 'receives'} ${messageId}`,
    description,
    messages: [ref(`#/channels/${channelId}/messages/${messageId}`)],
    tags: [{ name: service }],
  }
  if (group !== undefined) {
    op.bindings = {
      kafka: { groupId: { type: 'string', enum: [group] }, bindingVersion: KAFKA_BINDING },
    }
  }
  return op
}

export interface AsyncApiOptions {
  topics: TopicSettings[]
  version: string
}

/** The whole document, as a plain JSON object in a fixed key order. */
export function asyncApiDocument({ topics, version }: AsyncApiOptions): JsonObject {
  const settingsOf = (name: string): TopicSettings => {
    const found = topics.find((topic) => topic.name === name)
    if (found === undefined) throw new Error(`topic ${name} is missing from the topic definition`)
    return found
  }
  const channels: JsonObject = {}
  const messages: JsonObject = {}
  const operations: JsonObject = {}
  for (const { topic, sender, receiver } of FLOWS) {
    const [messageId, message] = eventMessage(topic)
    const [dlqMessageId, dlqMessage] = deadLetterMessage(topic)
    messages[messageId] = message
    messages[dlqMessageId] = dlqMessage
    channels[messageId] = channel(settingsOf(topic), messageId, GUARANTEES[topic].channel)
    channels[dlqMessageId] = channel(
      settingsOf(dlqTopic(topic)),
      dlqMessageId,
      `Dead letters of \`${topic}\`, written by ${receiver}.`,
    )
    const group = CONSUMER_GROUPS[topic]
    operations[`${camel(sender)}Sends${pascal(messageId)}`] = operation(
      'send',
      sender,
      messageId,
      messageId,
      GUARANTEES[topic].send,
    )
    operations[`${camel(receiver)}Receives${pascal(messageId)}`] = operation(
      'receive',
      receiver,
      messageId,
      messageId,
      GUARANTEES[topic].receive,
      group,
    )
    operations[`${camel(receiver)}DeadLetters${pascal(messageId)}`] = operation(
      'send',
      receiver,
      dlqMessageId,
      dlqMessageId,
      GUARANTEES[topic].deadLetter,
    )
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'vehicles: events',
      version,
      description: guaranteesText(),
      tags: Object.values(SERVICES).map((name) => ({ name })),
    },
    defaultContentType: 'application/json',
    channels,
    operations,
    components: { messages },
  }
}

/** `price-estimate` → `priceEstimate`, for operation ids. */
const camel = (service: string): string =>
  service.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase())

/** The committed text: two-space JSON with a trailing newline. */
export const asyncApiText = (document: JsonObject): string => `${JSON.stringify(document, null, 2)}\n`
