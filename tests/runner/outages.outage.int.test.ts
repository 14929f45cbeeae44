/**
 * The runner (`bun run system`) under the outages an operator meets, with no hand on any service:
 *
 * 1. every broker stopped for RUNNER_OUTAGE_SECONDS (default 150) while vehicles are posted, then started:
 *    every accepted vehicle has exactly one ad within 60 s; then Ctrl-C, the runner started again, and every
 *    vehicle and ad is still there;
 * 2. `bun run stack down` then `bun run stack up` under the running system: the same.
 *
 * About 8 minutes on 2 cores (489 s in its last run), so not part of `bun run test`: `bun run test:system`. It needs the stack of
 * STACK_ENV_FILE and no other system run on it, and uses its own databases (stock_runner_test,
 * ads_runner_test), dropped at the end.
 */
import { afterAll, expect, test } from 'bun:test'
import { dropDatabases } from '../../infra/system/databases'
import { stackCommand, stackEnv } from '../../packages/testing/src/index'
import { postStream } from '../support/load'
import {
  expectOneAdEach,
  type Runner,
  runnerStockUrl,
  startRunner,
  storedAds,
  storedVehicles,
  TEST_DATABASES,
} from '../support/runner'
import {
  brokerComponent,
  restoreStack,
  startStackComponent,
  stopStackComponent,
} from '../support/stack-faults'

const OUTAGE_MS = Number(process.env.RUNNER_OUTAGE_SECONDS ?? 150) * 1_000
const RECOVERY_MS = 60_000
const say = (line: string) => console.log(`[runner test] ${line}`)
let runner: Runner | undefined
const accepted: string[] = []

afterAll(async () => {
  if (runner?.alive()) await runner.interrupt().catch(() => undefined)
  await restoreStack(stackEnv().KAFKA_BROKERS, say).catch((error) => say(`restore: ${error}`))
  await dropDatabases(stackEnv(), TEST_DATABASES).catch((error) => say(`drop: ${error}`))
}, 600_000)

async function stackCli(command: 'up' | 'down'): Promise<void> {
  const started = Date.now()
  const { code, stdout, stderr } = await stackCommand([command])
  if (code !== 0)
    throw new Error(`stack ${command} exited ${code}:\n${stdout.slice(-2000)}\n${stderr.slice(-2000)}`)
  say(`stack ${command}: ${((Date.now() - started) / 1000).toFixed(0)} s`)
}

/** Ctrl-C, start again, and every vehicle accepted so far is still there with its one ad. */
async function restartRunnerAndCheck(): Promise<void> {
  const current = runner
  if (current === undefined) throw new Error('no runner')
  expect(await current.interrupt()).toBe(0)
  runner = await startRunner({ fresh: false, say })
  const vehicles = await storedVehicles()
  const ads = await storedAds()
  expect(accepted.filter((id) => !vehicles.has(id))).toEqual([])
  expect(accepted.filter((id) => ads.get(id) !== 1)).toEqual([])
  // The runner's own vehicles only: no ad without its vehicle either.
  expect([...ads.keys()].filter((id) => !vehicles.has(id))).toEqual([])
  say(`after the restart: ${vehicles.size} vehicles, ${ads.size} ads, all there`)
}

test(
  `every broker stopped ${OUTAGE_MS / 1000} s while vehicles are posted: every vehicle gets its ad, and survives a runner restart`,
  async () => {
    runner = await startRunner({ fresh: true, say })
    const brokers = [1, 2, 3].map(brokerComponent)
    for (const broker of brokers) await stopStackComponent(broker, 'SIGTERM', say)
    const load = await postStream({
      stockUrl: runnerStockUrl,
      count: 1_000_000,
      ratePerSecond: 4,
      concurrency: 4,
      maxDurationMs: OUTAGE_MS,
    }).done
    say(`posted during the outage: ${JSON.stringify({ ...load, ids: load.ids.length })}`)
    expect(load.serverErrors).toBe(0)
    expect(load.created).toBeGreaterThan(0)
    accepted.push(...load.ids)
    for (const broker of brokers) await startStackComponent(broker, say)
    const recovered = Date.now()
    say(`brokers back; runner: ${runner.status()}`)
    const seconds = await expectOneAdEach(accepted, RECOVERY_MS)
    say(
      `${accepted.length} ads, the last ${((Date.now() - recovered) / 1000).toFixed(0)} s after recovery (${seconds.toFixed(0)} s waited)`,
    )
    expect(runner.alive()).toBe(true)
    say(`runner: ${runner.status()}`)
    await restoreStack(stackEnv().KAFKA_BROKERS, say)
    await restartRunnerAndCheck()
  },
  OUTAGE_MS + 900_000,
)

test('`bun run stack down` then `stack up` under the running system: no service restarted by hand, nothing lost', async () => {
  if (runner === undefined || !runner.alive()) runner = await startRunner({ fresh: false, say })
  const before = await postStream({ stockUrl: runnerStockUrl, count: 40, ratePerSecond: 10 }).done
  expect(before.created).toBe(40)
  accepted.push(...before.ids)
  await stackCli('down')
  await Bun.sleep(20_000)
  await stackCli('up')
  const recovered = Date.now()
  const after = await postStream({
    stockUrl: runnerStockUrl,
    count: 40,
    ratePerSecond: 10,
    retryForMs: 60_000,
  }).done
  say(`posted after stack up: ${JSON.stringify({ ...after, ids: after.ids.length })}`)
  expect(after.created).toBe(40)
  accepted.push(...after.ids)
  await expectOneAdEach(accepted, RECOVERY_MS)
  say(`${accepted.length} ads, the last ${((Date.now() - recovered) / 1000).toFixed(0)} s after stack up`)
  expect(runner.alive()).toBe(true)
  say(`runner: ${runner.status()}`)
  await restartRunnerAndCheck()
  expect(await runner.interrupt()).toBe(0)
}, 1_200_000)
