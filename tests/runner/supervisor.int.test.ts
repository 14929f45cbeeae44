/**
 * The runner's supervision on the real stack: a service killed with `kill -9` (not by the runner) runs
 * again and answers ready within 5 s, counted in its status, the others untouched, and no vehicle is lost:
 * every POST is answered 201 in the end (the client retries its idempotency key through the gap) and every
 * vehicle gets exactly one ad. About a minute.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { ServiceName, System } from '../../infra/system/system'
import { postStream } from '../support/load'
import { expectOneAdEach, storedVehicles } from '../support/runner'
import { startSystem } from '../support/system'

// Both counted from the kill: a new process, and its /health/ready answering 200. vehicles-ads listens
// only once its consumer has its first assignment (or 10 s have passed); as a static group member (as
// `bun run system` runs it) the restarted process takes the killed one's place at once instead of waiting
// out its session (30 s).
const BACK_WITHIN_MS = 5_000
const READY_WITHIN_MS = 5_000
/** How long to keep watching a service that missed READY_WITHIN_MS, so the failure says how late it was. */
const WATCH_MS = 45_000
let system: System

beforeAll(async () => {
  system = await startSystem({
    purpose: 'tests/runner supervisor',
    estimateDelaySeconds: 0,
    supervise: true,
    // A killed estimator's partitions move after 10 s instead of 30 s.
    estimatorSessionTimeoutMs: 10_000,
    staticAdsMember: true,
    say: (line) => console.log(`[supervisor test] ${line}`),
  })
}, 900_000)

afterAll(async () => {
  await system?.stop()
}, 120_000)

/**
 * How long after the kill the service ran again (a new process) and answered ready: the supervisor's
 * restart plus the service's start-up (for an estimator a Python interpreter importing its libraries, a
 * registry lookup and init_transactions; for the ads the database, the registry and the group join).
 */
async function backAgain(name: ServiceName, oldPid: number, started: number) {
  let restartedMs: number | undefined
  for (;;) {
    const pid = system.pid(name)
    if (pid !== undefined && pid !== oldPid) {
      restartedMs ??= Date.now() - started
      const answer = (await system.readiness())[name]
      if (answer.startsWith('200 ')) return { restartedMs, readyMs: Date.now() - started }
    }
    if (Date.now() - started > WATCH_MS) {
      throw new Error(
        `${name} not ready within ${WATCH_MS / 1000} s of kill -9 (restarted after ${restartedMs} ms): ${JSON.stringify(system.status())} ${JSON.stringify(await system.readiness())}`,
      )
    }
    await Bun.sleep(100)
  }
}

test('a service killed with kill -9 is back within 5 s, the others untouched, nothing lost', async () => {
  const load = postStream({ stockUrl: system.stockUrl, count: 200, ratePerSecond: 10, concurrency: 4 })
  while (load.progress() < 30) await Bun.sleep(200)
  const victims: ServiceName[] = ['stock', 'price-estimate-1', 'ads']
  for (const name of victims) {
    const before = system.status()
    const pid = system.pid(name)
    if (pid === undefined) throw new Error(`${name} is not running: ${JSON.stringify(before)}`)
    const started = Date.now()
    process.kill(pid, 'SIGKILL')
    const { restartedMs, readyMs } = await backAgain(name, pid, started)
    console.log(
      `[supervisor test] ${name}: running again ${restartedMs} ms, ready ${readyMs} ms after kill -9`,
    )
    expect(restartedMs).toBeLessThanOrEqual(BACK_WITHIN_MS)
    expect(readyMs).toBeLessThanOrEqual(READY_WITHIN_MS)
    const after = system.status()
    expect(after.find((s) => s.name === name)?.restarts).toBe(1)
    // Nobody else was restarted or stopped for it.
    for (const other of after.filter((s) => s.name !== name)) {
      expect(other.pid).toBe(before.find((s) => s.name === other.name)?.pid)
    }
    await Bun.sleep(2_000)
  }
  const result = await load.done
  expect(result.serverErrors).toBe(0)
  expect(result.created).toBe(200)
  const databases = { stock: new URL(system.stockDatabaseUrl).pathname.slice(1), ads: system.adsDatabase }
  const stored = await storedVehicles(databases)
  expect(result.ids.filter((id) => !stored.has(id))).toEqual([])
  await expectOneAdEach(result.ids, 90_000, databases)
  expect(system.crashed().map((exit) => exit.name)).toEqual(victims)
}, 300_000)
