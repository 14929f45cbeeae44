/**
 * Every Kafka broker down for 30 s while POSTs flow: the stock keeps answering 201 (the vehicle and its
 * event are one PostgreSQL transaction), the outbox holds the events, and the relay sends them once the
 * brokers are back.
 */
import { expect, test } from 'bun:test'
import { expectClean } from '../support/expect-clean'
import { runFaultCase } from '../support/fault-case'
import { faultSystem } from '../support/fault-suite'
import { startStackComponent, stopStackComponent } from '../support/stack-faults'

const system = faultSystem('all-brokers-down')
const BROKERS = ['kafka-1', 'kafka-2', 'kafka-3']

test('all brokers down for 30 s during POSTs: the outbox holds the events; 0 lost, 0 duplicated, 0 5xx', async () => {
  let createdDuringOutage = 0
  const figures = await runFaultCase(system(), {
    name: 'all-brokers-down-30s',
    count: 1_000,
    ratePerSecond: 20,
    async inject(ctx) {
      await ctx.created(150)
      await Promise.all(BROKERS.map((name) => stopStackComponent(name, 'SIGKILL', ctx.say)))
      const before = ctx.load.progress()
      await Bun.sleep(30_000)
      createdDuringOutage = ctx.load.progress() - before
      ctx.say(`${createdDuringOutage} vehicles answered 201 while no broker ran`)
      await Promise.all(BROKERS.map((name) => startStackComponent(name, ctx.say)))
      ctx.restored()
    },
    async cleanup(ctx) {
      await Promise.all(BROKERS.map((name) => startStackComponent(name, ctx.say)))
    },
    settleTimeoutMs: 150_000,
  })
  // The stock did not depend on Kafka to accept vehicles.
  expect(createdDuringOutage).toBeGreaterThan(300)
  expectClean(figures)
}, 900_000)
