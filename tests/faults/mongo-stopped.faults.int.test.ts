/**
 * The MongoDB-wire server (FerretDB) stopped for 20 s while vehicles flow: the ads projection pauses and
 * retries without committing, then catches up; no ad is lost or doubled, no event goes to the DLQ.
 */
import { test } from 'bun:test'
import { expectClean } from '../support/expect-clean'
import { runFaultCase } from '../support/fault-case'
import { faultSystem } from '../support/fault-suite'
import { startStackComponent, stopStackComponent } from '../support/stack-faults'

const system = faultSystem('mongo-stopped')

test('MongoDB-wire server stopped for 20 s: 0 lost, 0 duplicated, 0 5xx', async () => {
  const figures = await runFaultCase(system(), {
    name: 'mongo-stopped-20s',
    count: 800,
    ratePerSecond: 25,
    async inject(ctx) {
      await ctx.created(150)
      await stopStackComponent('ferretdb', 'SIGTERM', ctx.say)
      await Bun.sleep(20_000)
      await startStackComponent('ferretdb', ctx.say)
      ctx.restored()
    },
    async cleanup(ctx) {
      await startStackComponent('ferretdb', ctx.say)
    },
  })
  expectClean(figures)
}, 600_000)
