/**
 * The prose of the AsyncAPI document: the delivery guarantees, per topic and for the whole system.
 * Worded by mechanism (outbox, transactions, read_committed, idempotent writes), not by implementation
 * detail, so it stays true while the mechanisms' internals change.
 */
import { dlqTopic, subjectOf, TOPICS, type Topic } from '../topics'
import { CONSUMER_GROUPS, SERVICES } from './system'

interface TopicText {
  channel: string
  send: string
  receive: string
  deadLetter: string
}

const created = TOPICS.vehicleCreated
const processed = TOPICS.vehicleProcessed

export const GUARANTEES: Record<Topic, TopicText> = {
  [created]: {
    channel: `A vehicle entered the stock. Written by ${SERVICES.stock}'s outbox relay, read by ${SERVICES.estimator}.`,
    send:
      'Transactional outbox relay: the vehicle row and its event are written in one PostgreSQL transaction, so ' +
      'an accepted POST always yields its event, even when Kafka is down at that moment. The relay sends outbox ' +
      'rows in Kafka transactions under one fixed transactional id per outbox, so a second relay fences the first; ' +
      'each record names its row (`outbox-id`) and outbox (`outbox`). A row is marked sent only after the commit; ' +
      'after any failure the relay reads the topic back under read_committed and marks exactly the rows whose ids it finds.',
    receive:
      `Consumer group \`${CONSUMER_GROUPS[created]}\` (two instances share the partitions), isolation level ` +
      'read_committed: records of aborted transactions are never seen. Consume-transform-produce in Kafka ' +
      'transactions: the processed event (or the dead letter) and the input offset commit together, so a crash ' +
      'or a rebalance never leaves one without the other.',
    deadLetter:
      `A created record that cannot be read (wire format, unknown schema id, invalid payload) goes to \`${dlqTopic(created)}\` ` +
      'in the same Kafka transaction as its input offset.',
  },
  [processed]: {
    channel: `The price estimate for one created event. Written by ${SERVICES.estimator}, read by ${SERVICES.ads}.`,
    send:
      'Produced in the same Kafka transaction as the consumed offset of the created event it answers ' +
      '(consume-transform-produce): a crash before the commit aborts both, and the created event is read again. ' +
      'A replay changes nothing: the event id is a UUIDv5 of the created event id and the price is seeded from it.',
    receive:
      `Consumer group \`${CONSUMER_GROUPS[processed]}\`, isolation level read_committed. Idempotent read model: ` +
      'one ad per vehicle, written by upsert keyed on the vehicle with the newest version kept; an event answering ' +
      'the created event the ad already holds (same `causationId`) is a no-op, so a redelivered or repeated event ' +
      'changes nothing. The offset is committed only after the write was acknowledged.',
    deadLetter:
      `A processed record that cannot be read goes to \`${dlqTopic(processed)}\`; its offset is committed only ` +
      'after Kafka acknowledged the dead letter.',
  },
}

/** The document's description (Markdown). */
export function guaranteesText(): string {
  return [
    'The topics of the vehicles system: a vehicle is added to stock, priced, and published as an ad.',
    '',
    `\`${SERVICES.stock}\` → \`${created}\` → \`${SERVICES.estimator}\` → \`${processed}\` → \`${SERVICES.ads}\``,
    '',
    '## Records',
    '',
    '- **Key**: the vehicle id (UUID). Every producer uses the murmur2 partitioner (the Java client’s), so all events of one vehicle land on one partition, in order.',
    '- **Headers**: `event-id` (the payload’s `eventId`), `event-type`, `content-type: application/json`.',
    '- **Value**: Confluent wire format — magic byte `0`, a 4-byte big-endian schema id, then UTF-8 JSON.',
    `- **Schemas**: JSON Schema draft-07, registered under the topic name strategy (\`${subjectOf(created)}\`, \`${subjectOf(processed)}\`) in a Confluent-compatible registry with BACKWARD compatibility; every object is closed, so adding an optional field is a compatible change.`,
    '',
    '## Delivery guarantees',
    '',
    '- **Stock**: transactional outbox relay — a vehicle and its event are committed together in PostgreSQL; the relay sends in Kafka transactions under one transactional id per outbox and marks an event sent only once its transaction committed, identifying rows by reading them back.',
    '- **Estimator**: consume-transform-produce in Kafka transactions — output and input offsets commit atomically; its consumers read with isolation level read_committed; ids and prices derive from the input, so a replay writes the same bytes.',
    '- **Ads**: read_committed consumer and an idempotent read model (upsert per vehicle, newest version kept, a repeated `causationId` a no-op); offsets are committed after the write.',
    '- **Dead letters**: a record that cannot be decoded or validated is copied unchanged to `<topic>.dlq` with a `dlq-reason` header and its source coordinates, and the source offset moves on only once the dead letter is stored. A poison record never stalls a partition.',
    '- **Topics**: replicated across brokers with `min.insync.replicas` below the replication factor (each channel’s Kafka bindings give the numbers) and written with acks=all, so an acknowledged record survives the loss of a broker.',
  ].join('\n')
}
