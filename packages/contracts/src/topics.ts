/** Topic names of the system (docs/architecture.md). */
export const TOPICS = {
  vehicleCreated: 'stock.vehicle-created',
  vehicleProcessed: 'stock.vehicle-processed',
} as const
export type Topic = (typeof TOPICS)[keyof typeof TOPICS]

/** Dead-letter topic of a topic: `<topic>.dlq`. */
export const dlqTopic = (topic: string): string => `${topic}.dlq`

/** Registry subject of a topic's values (TopicNameStrategy): `<topic>-value`. */
export const subjectOf = (topic: string): string => `${topic}-value`
