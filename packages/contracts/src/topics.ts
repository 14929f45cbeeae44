/**
 * The one definition of the system's topics: their names, their dead-letter topics, partitions,
 * replication and configs. `infra/topics.json` is generated from it (`bun run generate`, held by
 * `generated.test.ts`) for what cannot import TypeScript: the local stack, compose's `topics-init`
 * (bash alone) and the estimator (Python).
 */

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

/** Where the topics file is generated, relative to the repository root. */
export const TOPICS_FILE = 'infra/topics.json'

export interface TopicDefaults {
  partitions: number
  replicationFactor: number
  configs: Record<string, string>
}

/** One topic as the topics file lists it: anything it leaves out comes from the defaults. */
export interface TopicEntry {
  name: string
  /** The topic its unreadable records go to; set on event topics only. */
  dlq?: string
  partitions?: number
  replicationFactor?: number
  configs?: Record<string, string>
}

export interface TopicsDefinition {
  defaults: TopicDefaults
  topics: TopicEntry[]
}

/** A topic with its defaults applied: what the cluster is asked to create. */
export interface TopicSettings {
  name: string
  partitions: number
  replicas: number
  /** Topic-level configs as created; Kafka's own default applies to anything not listed. */
  configs: Record<string, string>
}

/**
 * Six partitions bound the parallelism of each consumer group; three replicas with
 * `min.insync.replicas=2` keep an acknowledged write through the loss of any one broker.
 */
export const TOPIC_DEFINITION: TopicsDefinition = {
  defaults: { partitions: 6, replicationFactor: 3, configs: { 'min.insync.replicas': '2' } },
  topics: Object.values(TOPICS).flatMap((name) => [{ name, dlq: dlqTopic(name) }, { name: dlqTopic(name) }]),
}

/** Every topic with its defaults applied. */
export function topicSettings(definition: TopicsDefinition = TOPIC_DEFINITION): TopicSettings[] {
  const { defaults, topics } = definition
  return topics.map((topic) => ({
    name: topic.name,
    partitions: topic.partitions ?? defaults.partitions,
    replicas: topic.replicationFactor ?? defaults.replicationFactor,
    configs: { ...defaults.configs, ...topic.configs },
  }))
}

/** The text of `infra/topics.json`. */
export function topicsFileText(definition: TopicsDefinition = TOPIC_DEFINITION): string {
  return `${JSON.stringify(definition, null, 2)}\n`
}
