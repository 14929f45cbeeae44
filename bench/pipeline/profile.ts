/**
 * `--profile`: the Bun services under `bun --cpu-prof` and price-estimate-2 under py-spy, summarised into
 * the report. A profiled run's figures carry the profilers' cost.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { System } from '../../infra/system/system'
import { stackEnv } from '../../packages/testing/src/index'
import { newestProfile, type ProfileSummary, summarizeProfile } from '../lib/cpu-profile'
import { type PySpySummary, summarizePySpy } from '../lib/py-spy'
import { freePort } from '../lib/service'
import { runPrefix, say } from './common'
import { BUN_SERVICES_ENV, DELAY, ESTIMATOR_ENV, PROFILE } from './options'

export const profileDir = (phase: string, name: string) =>
  join(
    stackEnv().STACK_DIR ?? join(import.meta.dir, '..', '..', '.stack'),
    'bench',
    `profile-${phase}-${runPrefix}`,
    name,
  )
/** The system's per-service environment: the profilers (`--profile`), `--estimator-env` and `--bun-env`. */
export const profiled = (phase: string) => {
  const bunService = (name: 'stock' | 'ads') => {
    if (!PROFILE) return BUN_SERVICES_ENV
    mkdirSync(profileDir(phase, name), { recursive: true })
    return {
      ...BUN_SERVICES_ENV,
      BUN_OPTIONS: `--cpu-prof --cpu-prof-md --cpu-prof-dir=${profileDir(phase, name)}`,
    }
  }
  return {
    env: {
      'price-estimate-1': ESTIMATOR_ENV,
      'price-estimate-2': ESTIMATOR_ENV,
      stock: bunService('stock'),
      ads: bunService('ads'),
    },
  }
}
export const profiles: { phase: string; name: string; summary: ProfileSummary }[] = []
export const pySpyProfiles: { phase: string; summary: PySpySummary }[] = []
const PY_SPY = join(import.meta.dir, '..', '.venv', 'bin', 'py-spy')

/**
 * Replaces price-estimate-2 by the same estimator (same instance id and settings as the system harness
 * gives it) started under py-spy: py-spy may only trace its own children here, so it must start it.
 * Returns a stop function that ends the estimator with SIGTERM and reads the profile.
 */
export async function profiledEstimator(system: System, phase: string): Promise<() => Promise<void>> {
  if (!existsSync(PY_SPY))
    throw new Error(
      `--profile needs py-spy: python3 -m venv bench/.venv && bench/.venv/bin/pip install py-spy==0.4.3`,
    )
  await system.kill('price-estimate-2', 'SIGTERM')
  const root = join(import.meta.dir, '..', '..')
  const port = freePort()
  const dir = profileDir(phase, 'price-estimate-2')
  mkdirSync(dir, { recursive: true })
  const out = join(dir, 'py-spy.txt')
  const stack = stackEnv()
  const child = Bun.spawn(
    [
      PY_SPY,
      'record',
      '-r',
      '200',
      '-f',
      'raw',
      '-o',
      out,
      '--nonblocking',
      '--',
      join(root, 'estimator', '.venv', 'bin', 'python'),
      '-m',
      'estimator',
    ],
    {
      cwd: join(root, 'estimator'),
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        KAFKA_BROKERS: stack.KAFKA_BROKERS,
        SCHEMA_REGISTRY_URL: stack.SCHEMA_REGISTRY_URL,
        INSTANCE_ID: '2',
        METRICS_PORT: String(port),
        METRICS_HOST: '127.0.0.1',
        ESTIMATE_DELAY_SECONDS: String(phase === 'latency' ? 0 : DELAY),
        CONTRACTS_DIR: join(root, 'packages', 'contracts', 'schemas'),
        ...ESTIMATOR_ENV,
      },
      stdout: Bun.file(join(dir, 'estimator.log')),
      stderr: Bun.file(join(dir, 'estimator.log')),
    },
  )
  const deadline = performance.now() + 120_000
  for (;;) {
    const ready = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(2_000) })
      .then((r) => r.status === 200)
      .catch(() => false)
    if (ready) break
    if (child.exitCode !== null || performance.now() > deadline)
      throw new Error(`the profiled estimator did not become ready; see ${join(dir, 'estimator.log')}`)
    await Bun.sleep(250)
  }
  // What asks the estimators from now on (metrics, group state) asks this one.
  system.estimatorUrls[1] = `http://127.0.0.1:${port}`
  say('price-estimate-2: replaced by the same estimator under py-spy')
  return async () => {
    // The estimator is py-spy's child: end it, and py-spy writes its profile and exits.
    const children = Bun.spawnSync(['pgrep', '-P', String(child.pid)])
      .stdout.toString()
      .trim()
      .split('\n')
    for (const pid of children.filter(Boolean)) process.kill(Number(pid), 'SIGTERM')
    const ended = await Promise.race([child.exited.then(() => true), Bun.sleep(60_000).then(() => false)])
    if (!ended || !existsSync(out)) {
      say(`py-spy wrote no profile (${ended ? 'exited' : 'still running after 60 s'}); see ${dir}`)
      return
    }
    pySpyProfiles.push({ phase, summary: summarizePySpy(readFileSync(out, 'utf8')) })
    rmSync(dir, { recursive: true, force: true })
  }
}
export function collectProfiles(phase: string) {
  if (!PROFILE) return
  for (const name of ['stock', 'ads']) {
    const markdown = newestProfile(profileDir(phase, name))
    if (markdown !== undefined) profiles.push({ phase, name, summary: summarizeProfile(markdown, 10) })
    rmSync(profileDir(phase, name), { recursive: true, force: true })
  }
}
