/**
 * One Kafka broker frozen with SIGSTOP for 60 s under 2,000 POSTs, then resumed: it keeps its sockets
 * but answers nothing, so requests to it neither fail nor succeed until they time out (a send whose
 * outcome is unknown), its ZooKeeper session expires and its partitions get new leaders; when it wakes
 * up it finds itself behind and rejoins. Nothing may be lost, doubled or priced twice. The broker
 * chosen leads the most partitions of the created topic.
 */
import { test } from 'bun:test'
import { TOPICS } from '../../packages/contracts/src/topics'
import { expectClean } from '../support/expect-clean'
import { runFaultCase } from '../support/fault-case'
import { faultSystem } from '../support/fault-suite'
import { brokerComponent, busiestLeader, signalStackComponent } from '../support/stack-faults'

const system = faultSystem('broker-sigstop')
let frozen = ''

test('one broker SIGSTOPped for 60 s under 2,000 POSTs: 0 lost, 0 duplicated, 0 re-priced, 0 5xx', async () => {
  const figures = await runFaultCase(system(), {
    name: 'broker-sigstop-60s',
    count: 2_000,
    // About 80 s of POSTs: the stream runs through the whole freeze and past it.
    ratePerSecond: 25,
    async inject(ctx) {
      await ctx.created(300)
      const victim = brokerComponent(
        await busiestLeader(ctx.system.stack.KAFKA_BROKERS, TOPICS.vehicleCreated),
      )
      await signalStackComponent(victim, 'SIGSTOP', ctx.say)
      frozen = victim
      await Bun.sleep(60_000)
      await signalStackComponent(victim, 'SIGCONT', ctx.say)
      frozen = ''
      ctx.restored()
    },
    async cleanup(ctx) {
      if (frozen !== '') await signalStackComponent(frozen, 'SIGCONT', ctx.say)
    },
    settleTimeoutMs: 180_000,
  })
  expectClean(figures)
}, 900_000)
