/** The relay's Prometheus metrics, registered once per relay (none when no registry is given). */
import { Counter, Gauge, Histogram, type Registry } from '@vehicles/platform'

export function relayMetrics(registry: Registry | undefined) {
  const registers = registry === undefined ? [] : [registry]
  return {
    sentTotal: new Counter({
      name: 'outbox_relay_sent_total',
      help: 'outbox rows in a committed Kafka transaction and marked sent',
      registers,
    }),
    errorsTotal: new Counter({
      name: 'outbox_relay_errors_total',
      help: 'failed relay attempts by stage: connect (Kafka or registry), cluster (not writable yet), send, leadership (lost), database',
      labelNames: ['stage'] as const,
      registers,
    }),
    failedRows: new Counter({
      name: 'outbox_relay_failed_rows_total',
      help: 'outbox rows that break their schema and can never be sent (kept, marked failed)',
      registers,
    }),
    foundRows: new Counter({
      name: 'outbox_relay_found_rows_total',
      help: 'pending rows found on the topic by their outbox-id header when reading back after a failure or a takeover (marked sent, not sent again)',
      registers,
    }),
    sendSeconds: new Histogram({
      name: 'outbox_relay_batch_duration_seconds',
      help: 'one relay send: one Kafka transaction, from begin to its acknowledged commit',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    backingOff: new Gauge({
      name: 'outbox_relay_backing_off',
      help: '1 while the relay waits after a failure (Kafka or registry away)',
      registers,
    }),
    leader: new Gauge({
      name: 'outbox_relay_leader',
      help: '1 while this process holds the relay leader lock (the only relay sending)',
      registers,
    }),
  }
}

export type RelayMetrics = ReturnType<typeof relayMetrics>
