/**
 * PostgreSQL restarted under load: while it is down POST answers 503 with Retry-After (never 500), the
 * client retries with its Idempotency-Key, and no vehicle is half-written (a vehicle without its outbox
 * event or the reverse).
 */
import { test } from 'bun:test'
import { expectClean } from '../support/expect-clean'
import { runFaultCase } from '../support/fault-case'
import { faultSystem } from '../support/fault-suite'
import { startStackComponent, stopStackComponent } from '../support/stack-faults'

const system = faultSystem('postgres-restart')

test('PostgreSQL restarted under load: 503 + Retry-After only, never half-written; 0 lost, 0 duplicated', async () => {
  const figures = await runFaultCase(system(), {
    name: 'postgres-restart',
    count: 800,
    ratePerSecond: 40,
    async inject(ctx) {
      await ctx.created(200)
      // Fast shutdown (SIGINT): open transactions are rolled back, connections cut.
      await stopStackComponent('postgres', 'SIGINT', ctx.say)
      await Bun.sleep(5_000)
      await startStackComponent('postgres', ctx.say)
      ctx.restored()
    },
    async cleanup(ctx) {
      await startStackComponent('postgres', ctx.say)
    },
  })
  expectClean(figures)
}, 600_000)
