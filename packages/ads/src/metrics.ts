/**
 * The projection's metrics, on the service's one registry (`createMetrics` of the platform): upserts by
 * outcome, the delay from Kafka to the written ad, dead letters by reason, database retries, the paused flag, and the group's lag per partition.
 */
import type { Consumer } from '@vehicles/kafka'
import { Counter, Gauge, Histogram, type Registry } from '@vehicles/platform'
import type { ProjectionMetrics } from './projection/projector'

/**
 * One set per registry: a start-up step that is retried (the projection, while Kafka is away) asks again,
 * and prom-client refuses a second metric of the same name ("already registered").
 */
const created = new WeakMap<Registry, ProjectionMetrics>()

export function createProjectionMetrics(registry: Registry): ProjectionMetrics {
  const existing = created.get(registry)
  if (existing !== undefined) return existing
  const metrics = registerProjectionMetrics(registry)
  created.set(registry, metrics)
  return metrics
}

function registerProjectionMetrics(registry: Registry): ProjectionMetrics {
  const upserts = new Counter({
    name: 'ads_upserts_total',
    help: 'processed events written to the read model, by outcome (applied, or stale: already newer)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  })
  const deadLetters = new Counter({
    name: 'ads_dead_letters_total',
    help: 'messages sent to the dead-letter topic, by reason',
    labelNames: ['reason'] as const,
    registers: [registry],
  })
  const retries = new Counter({
    name: 'ads_store_retries_total',
    help: 'failed database writes that were retried (database unavailable)',
    registers: [registry],
  })
  // The projection's share of the POST → ad latency, measured where it happens (the pipeline benchmark
  // and a dashboard read it instead of guessing from outside).
  const delay = new Histogram({
    name: 'ads_projection_delay_seconds',
    help: 'from a processed event reaching Kafka (its record timestamp) to its ad written, applied events only',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  })
  const paused = new Gauge({
    name: 'ads_projection_paused',
    help: '1 while consumption is paused because the database does not answer',
    registers: [registry],
  })
  // Present from the start with 0, so a dashboard shows "no dead letters" rather than "no data".
  for (const outcome of ['applied', 'stale']) upserts.inc({ outcome }, 0)
  for (const reason of ['wire-format', 'unknown-schema', 'contract-violation', 'unprojectable']) {
    deadLetters.inc({ reason }, 0)
  }
  return {
    upserted: (outcome, delayMs) => {
      upserts.inc({ outcome })
      if (outcome === 'applied') delay.observe(Math.max(0, delayMs) / 1000)
    },
    deadLettered: (reason) => deadLetters.inc({ reason }),
    storeRetried: () => retries.inc(),
    paused: (isPaused) => paused.set(isPaused ? 1 : 0),
  }
}

/**
 * Consumer lag per partition this member holds, from the consumer's own view (the partition's end from
 * its last fetch, its last commit): read on each scrape, since it costs no request. It never asks a
 * broker: a coordinator request made while brokers fail is where the Kafka library has been seen to
 * abort the process, and the metrics are read most exactly then. A partition moved to another member
 * stops being reported here.
 */
export function trackConsumerLag(options: { registry: Registry; consumer: Pick<Consumer, 'lag'> }): void {
  new Gauge({
    name: 'ads_consumer_lag',
    help: 'messages of the input topic not yet committed by this member, per partition it holds',
    labelNames: ['topic', 'partition'] as const,
    registers: [options.registry],
    collect() {
      this.reset()
      for (const p of options.consumer.lag())
        this.set({ topic: p.topic, partition: String(p.partition) }, p.lag)
    },
  })
}
