/**
 * One registry instance stopped while POSTs flow, and two services restarted during the outage, so their
 * boot-time schema lookups must go through nginx to the instances still up.
 */
import { test } from 'bun:test'
import { expectClean } from '../support/expect-clean'
import { runFaultCase } from '../support/fault-case'
import { faultSystem } from '../support/fault-suite'
import { startStackComponent, stopStackComponent } from '../support/stack-faults'

const system = faultSystem('registry-stopped')

test('one registry instance stopped (services restarted meanwhile): 0 lost, 0 duplicated, 0 5xx', async () => {
  const figures = await runFaultCase(system(), {
    name: 'registry-instance-stopped',
    count: 600,
    ratePerSecond: 30,
    async inject(ctx) {
      await ctx.created(100)
      await stopStackComponent('registry-1', 'SIGTERM', ctx.say)
      const stoppedAt = Date.now()
      await ctx.system.restart('ads')
      await ctx.system.restart('price-estimate-2')
      await Bun.sleep(Math.max(0, 15_000 - (Date.now() - stoppedAt)))
      await startStackComponent('registry-1', ctx.say)
      ctx.restored()
    },
    async cleanup(ctx) {
      await startStackComponent('registry-1', ctx.say)
    },
  })
  expectClean(figures)
}, 600_000)
