/**
 * `bun run system` as an operator runs it, for the runner's own tests: the real CLI in a child process,
 * on databases of the test's own (so a developer's `stock` and `ads` stay untouched), stopped with the
 * SIGINT a Ctrl-C sends. Plus what the tests read back: the vehicles in PostgreSQL, the ads in MongoDB.
 */
import { join } from 'node:path'
import { DEFAULT_PORTS, repoRoot } from '../../infra/system/system'
import { forEachLine, MongoClient, postgres, stackEnv } from '../../packages/testing/src/index'

export const TEST_DATABASES = { stock: 'stock_runner_test', ads: 'ads_runner_test' }

const offset = Number(process.env.STACK_PORT_OFFSET ?? 0)
export const runnerStockUrl = `http://127.0.0.1:${DEFAULT_PORTS.stock + offset}`
export const runnerAdsUrl = `http://127.0.0.1:${DEFAULT_PORTS.ads + offset}`

export interface Runner {
  pid: number
  output: () => string
  /** The last status line the runner printed. */
  status: () => string
  alive: () => boolean
  /** SIGINT (Ctrl-C); resolves with the exit code once the runner has stopped every service. */
  interrupt: (timeoutMs?: number) => Promise<number>
}

export async function startRunner(options: { fresh: boolean; say: (line: string) => void }): Promise<Runner> {
  const argv = ['bun', join(repoRoot, 'scripts', 'system.ts'), '--delay', '0']
  if (options.fresh) argv.push('--fresh')
  const child = Bun.spawn(argv, {
    cwd: repoRoot,
    env: {
      ...process.env,
      SYSTEM_STOCK_DATABASE: TEST_DATABASES.stock,
      SYSTEM_ADS_DATABASE: TEST_DATABASES.ads,
    },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  let output = ''
  let exitCode: number | undefined
  const collect = (line: string) => {
    output += `${line}\n`
    if (line.startsWith('[system]')) options.say(line)
  }
  void forEachLine(child.stdout, collect)
  void forEachLine(child.stderr, collect)
  void child.exited.then((code) => {
    exitCode = code
  })
  const runner: Runner = {
    pid: child.pid,
    output: () => output,
    status: () => output.split('\n').findLast((line) => line.startsWith('[system] status:')) ?? '(none yet)',
    alive: () => exitCode === undefined,
    async interrupt(timeoutMs = 90_000) {
      child.kill('SIGINT')
      const timeout = Bun.sleep(timeoutMs).then(() => 'timeout' as const)
      if ((await Promise.race([child.exited, timeout])) === 'timeout') {
        child.kill('SIGKILL')
        throw new Error(
          `the runner did not stop within ${timeoutMs / 1000} s of SIGINT:\n${output.slice(-3000)}`,
        )
      }
      return child.exitCode ?? -1
    },
  }
  const deadline = Date.now() + 240_000
  while (!output.includes('vehicles is running')) {
    if (exitCode !== undefined)
      throw new Error(`the runner exited with ${exitCode} while starting:\n${output}`)
    if (Date.now() > deadline) {
      child.kill('SIGINT')
      throw new Error(`the runner was not ready after 240 s:\n${output.slice(-3000)}`)
    }
    await Bun.sleep(500)
  }
  return runner
}

/** Ids of the vehicles in the runner's stock database. */
export async function storedVehicles(databases = TEST_DATABASES): Promise<Set<string>> {
  const url = new URL(stackEnv().DATABASE_URL)
  url.pathname = `/${databases.stock}`
  const sql = postgres(url.toString(), { max: 1, onnotice: () => {}, connect_timeout: 10 })
  try {
    const rows = await sql<{ id: string }[]>`select id::text as id from vehicles`
    return new Set(rows.map((row) => row.id))
  } finally {
    await sql.end()
  }
}

/**
 * Ads per vehicle id in the runner's ads database. The ads store one document per vehicle (`_id` is the
 * vehicle id), so this is 0 or 1; the processed topic may carry a vehicle twice, the read model never.
 */
export async function storedAds(databases = TEST_DATABASES): Promise<Map<string, number>> {
  const client = new MongoClient(stackEnv().MONGODB_URL, { serverSelectionTimeoutMS: 5_000 })
  try {
    await client.connect()
    const docs = await client
      .db(databases.ads)
      .collection<{ _id: string }>('ads')
      .find({}, { projection: { _id: 1 } })
      .toArray()
    const counts = new Map<string, number>()
    for (const doc of docs) counts.set(doc._id, (counts.get(doc._id) ?? 0) + 1)
    return counts
  } finally {
    await client.close()
  }
}

/** Waits until every id has exactly one ad; returns the seconds it took, or throws naming what is missing. */
export async function expectOneAdEach(
  ids: string[],
  withinMs: number,
  databases = TEST_DATABASES,
): Promise<number> {
  const started = Date.now()
  let missing: string[] = []
  let doubled: string[] = []
  for (;;) {
    try {
      const ads = await storedAds(databases)
      missing = ids.filter((id) => (ads.get(id) ?? 0) === 0)
      doubled = ids.filter((id) => (ads.get(id) ?? 0) > 1)
      if (doubled.length > 0)
        throw new Error(`vehicles with more than one ad: ${doubled.slice(0, 10).join(', ')}`)
      if (missing.length === 0) return (Date.now() - started) / 1000
    } catch (error) {
      if (doubled.length > 0) throw error
    }
    if (Date.now() - started > withinMs) {
      throw new Error(
        `${missing.length} of ${ids.length} vehicles have no ad ${withinMs / 1000} s after recovery, e.g. ${missing.slice(0, 5).join(', ')}`,
      )
    }
    await Bun.sleep(1_000)
  }
}
