/**
 * One Kafka broker killed with SIGKILL under 2,000 POSTs, then restarted: leaders move, producers and
 * consumers fail over, transactions in flight abort and are redone; nothing is lost or doubled.
 * The broker chosen leads the most partitions of the created topic.
 */
import { test } from 'bun:test'
import { TOPICS } from '../../packages/contracts/src/topics'
import { expectClean } from '../support/expect-clean'
import { runFaultCase } from '../support/fault-case'
import { faultSystem } from '../support/fault-suite'
import {
  brokerComponent,
  busiestLeader,
  startStackComponent,
  stopStackComponent,
} from '../support/stack-faults'

const system = faultSystem('broker-kill')
let victim = ''

test('one broker kill -9 under 2,000 POSTs, restarted: 0 lost, 0 duplicated, 0 5xx', async () => {
  const figures = await runFaultCase(system(), {
    name: 'broker-kill-9',
    count: 2_000,
    ratePerSecond: 100,
    async inject(ctx) {
      await ctx.created(300)
      victim = brokerComponent(await busiestLeader(ctx.system.stack.KAFKA_BROKERS, TOPICS.vehicleCreated))
      await stopStackComponent(victim, 'SIGKILL', ctx.say)
      await Bun.sleep(10_000)
      await startStackComponent(victim, ctx.say)
      ctx.restored()
    },
    async cleanup(ctx) {
      if (victim !== '') await startStackComponent(victim, ctx.say)
    },
  })
  expectClean(figures)
}, 600_000)
