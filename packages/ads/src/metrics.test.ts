import { expect, test } from 'bun:test'
import { createMetrics } from '@vehicles/platform'
import { createProjectionMetrics, trackConsumerLag } from './metrics'

test('projection metrics start at zero and count by label', async () => {
  const { registry } = createMetrics({ service: 'vehicles-ads', processMetrics: false })
  const metrics = createProjectionMetrics(registry)
  let text = await registry.metrics()
  expect(text).toContain('ads_dead_letters_total{reason="wire-format",service="vehicles-ads"} 0')
  expect(text).toContain('ads_upserts_total{outcome="stale",service="vehicles-ads"} 0')
  metrics.upserted('applied', 30)
  metrics.upserted('applied', 700)
  metrics.upserted('stale', 5_000)
  metrics.deadLettered('contract-violation')
  metrics.storeRetried()
  metrics.paused(true)
  text = await registry.metrics()
  expect(text).toContain('ads_upserts_total{outcome="applied",service="vehicles-ads"} 2')
  expect(text).toContain('ads_dead_letters_total{reason="contract-violation",service="vehicles-ads"} 1')
  expect(text).toContain('ads_store_retries_total{service="vehicles-ads"} 1')
  expect(text).toContain('ads_projection_paused{service="vehicles-ads"} 1')
  // The delay of applied writes only (a stale one is a replay: its age says nothing about the pipeline).
  expect(text).toContain('ads_projection_delay_seconds_bucket{le="0.05",service="vehicles-ads"} 1')
  expect(text).toContain('ads_projection_delay_seconds_bucket{le="1",service="vehicles-ads"} 2')
  expect(text).toContain('ads_projection_delay_seconds_count{service="vehicles-ads"} 2')
  expect(text).toContain('ads_projection_delay_seconds_sum{service="vehicles-ads"} 0.73')
})

test('asking again for the same registry (a retried start-up) reuses the metrics instead of throwing', async () => {
  const { registry } = createMetrics({ service: 'vehicles-ads', processMetrics: false })
  const first = createProjectionMetrics(registry)
  first.upserted('applied', 1)
  const second = createProjectionMetrics(registry)
  second.upserted('applied', 1)
  const text = await registry.metrics()
  expect(text).toContain('ads_upserts_total{outcome="applied",service="vehicles-ads"} 2')
  expect(text.match(/^# TYPE ads_upserts_total counter$/gm)?.length).toBe(1)
  // A registry of its own (another test, another app) still gets metrics of its own.
  const other = createMetrics({ service: 'vehicles-ads', processMetrics: false }).registry
  createProjectionMetrics(other).upserted('stale', 1)
  expect(await other.metrics()).toContain('ads_upserts_total{outcome="stale",service="vehicles-ads"} 1')
  expect(await other.metrics()).toContain('ads_upserts_total{outcome="applied",service="vehicles-ads"} 0')
})

test('consumer lag per partition is read from the consumer at each scrape; a partition it no longer holds disappears', async () => {
  const { registry } = createMetrics({ service: 'vehicles-ads', processMetrics: false })
  let held = [
    { topic: 't', partition: 3, committed: '5', end: '12', lag: 7 },
    { topic: 't', partition: 4, committed: '9', end: '9', lag: 0 },
  ]
  trackConsumerLag({ registry, consumer: { lag: () => held } })
  const first = await registry.metrics()
  expect(first).toContain('ads_consumer_lag{topic="t",partition="3",service="vehicles-ads"} 7')
  expect(first).toContain('ads_consumer_lag{topic="t",partition="4",service="vehicles-ads"} 0')
  held = [{ topic: 't', partition: 3, committed: '12', end: '12', lag: 0 }]
  const second = await registry.metrics()
  expect(second).toContain('ads_consumer_lag{topic="t",partition="3",service="vehicles-ads"} 0')
  expect(second).not.toContain('partition="4"')
})
