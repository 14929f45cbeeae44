import type { ConsumedMessage, DeliveryReport, Producer } from './types'

/** Dead-letter topic of a topic: `<topic>.dlq` (docs/architecture.md). */
export function dlqTopic(topic: string): string {
  return `${topic}.dlq`
}

/**
 * Copies a message that cannot be handled to `<topic>.dlq`, keeping its key, value and headers and
 * adding where it came from and why. The handler calls this and then resolves, so the source offset is
 * committed only after the dead letter is acknowledged.
 */
export async function sendToDlq(
  producer: Producer,
  message: ConsumedMessage,
  reason: string,
): Promise<DeliveryReport> {
  const [report] = await producer.send([
    {
      topic: dlqTopic(message.topic),
      // A keyless source record still needs a key here; the source coordinates are unique and stable.
      key: message.key ?? `${message.topic}/${message.partition}/${message.offset}`,
      value: message.value,
      headers: {
        ...message.headers,
        'dlq-reason': reason,
        'dlq-source-topic': message.topic,
        'dlq-source-partition': String(message.partition),
        'dlq-source-offset': message.offset,
      },
    },
  ])
  if (report === undefined) throw new Error('producer returned no delivery report for the dead letter')
  return report
}
