/**
 * One estimator killed with SIGKILL while it holds vehicles in flight (delay 1 s), then restarted with the
 * same instance id: its open transaction is aborted (fenced: the restart initialises every transactional
 * id of its rotation), its partitions are redone from the last committed offsets; read_committed readers
 * never see the aborted prices.
 */
import { expect, test } from 'bun:test'
import { waitFor } from '../../packages/testing/src/index'
import { expectClean } from '../support/expect-clean'
import { metric, runFaultCase } from '../support/fault-case'
import { faultSystem } from '../support/fault-suite'

const system = faultSystem('estimator-kill', { estimateDelaySeconds: 1 })

test('one estimator kill -9 mid-batch, restarted: 0 lost, 0 duplicated', async () => {
  let inFlightAtKill = 0
  const figures = await runFaultCase(system(), {
    name: 'estimator-kill-9',
    count: 600,
    ratePerSecond: 40,
    async inject(ctx) {
      const [url] = ctx.system.estimatorUrls
      await ctx.created(100)
      // Mid-batch: it has committed prices already and holds vehicles not yet priced.
      inFlightAtKill = await waitFor(
        'price-estimate-1 to have committed prices and hold vehicles in flight',
        async () => {
          const processed = (await metric(url, 'estimator_processed_total')) ?? 0
          const inFlight = (await metric(url, 'estimator_in_flight')) ?? 0
          return processed > 0 && inFlight > 0 ? inFlight : undefined
        },
        { timeoutMs: 60_000, intervalMs: 50 },
      )
      await ctx.system.kill('price-estimate-1', 'SIGKILL')
      ctx.say(`killed price-estimate-1 holding ${inFlightAtKill} vehicles in flight`)
      await Bun.sleep(2_000)
      await ctx.system.restart('price-estimate-1')
      ctx.restored()
    },
    async cleanup(ctx) {
      if (ctx.system.pid('price-estimate-1') === undefined) await ctx.system.restart('price-estimate-1')
    },
  })
  expect(inFlightAtKill).toBeGreaterThan(0)
  expectClean(figures)
}, 600_000)
