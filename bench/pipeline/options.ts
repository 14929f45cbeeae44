/** The pipeline benchmark's command-line options (see run.ts for what each phase does). */
import { flagArg, intArg, stringArg } from '../lib/args'

export const LATENCY_COUNT = intArg('latency-count', 10_000, 10, 1_000_000)
export const RATE = intArg('rate', 50, 1, 10_000)
export const POLL_MS = intArg('poll-ms', 10, 1, 1_000)
export const BURST_COUNT = intArg('burst-count', 10_000, 10, 1_000_000)
export const DELAY = intArg('delay', 30, 0, 600)
export const CONCURRENCY = intArg('concurrency', 64, 1, 1_024)
export const WARMUP = intArg('warmup', 20, 0, 10_000)
/**
 * Seconds of POSTs at the (first) measured rate before the measured run, its ads awaited and not counted:
 * the services start fresh for each run and the first seconds at a rate measure their JIT and
 * connection set-up, not the pipeline (the report gives that run's p50/p99 as a note).
 */
export const WARMUP_SECONDS = intArg('warmup-seconds', 15, 0, 600)
/** Seconds of POSTs at each rate of a sweep. */
export const SWEEP_SECONDS = intArg('sweep-seconds', 20, 2, 3_600)
/**
 * `--samples-csv FILE`: one row per counted vehicle (POST send time, POST answer, each stage, total), to
 * see when the slow ones happened (a tail that comes in clusters has a cause with a clock).
 */
export const SAMPLES_CSV = stringArg('samples-csv')
/** Runs the Bun services under `--cpu-prof` (costs CPU: the figures of such a run are not the headline ones). */
export const PROFILE = flagArg('profile')

/** `--sweep 50,200,500,1000`: the latency phase at each rate in turn (one system, one warm-up). */
export const SWEEP: number[] | undefined = (() => {
  const raw = stringArg('sweep')
  if (raw === undefined) return undefined
  const rates = raw.split(',').map(Number)
  if (rates.length === 0 || rates.some((r) => !Number.isInteger(r) || r < 1 || r > 10_000)) {
    console.error(`--sweep: ${raw} is not a comma-separated list of rates in 1..10000`)
    process.exit(2)
  }
  return rates
})()

export const PHASES = ['latency', 'burst'] as const
export const only = (stringArg('only') ?? PHASES.join(',')).split(',')
if (only.some((p) => !(PHASES as readonly string[]).includes(p))) {
  console.error(`--only: choose from ${PHASES.join(', ')}`)
  process.exit(2)
}

/** A comma-separated list of NAME=value pairs (environment variables), or exits saying what is wrong. */
function envListArg(option: string): Record<string, string> {
  const raw = stringArg(option)
  if (raw === undefined) return {}
  const pairs = raw.split(',').map((pair) => pair.split('='))
  if (pairs.some((p) => p.length !== 2 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(p[0] ?? ''))) {
    console.error(`--${option}: ${raw} is not a comma-separated list of NAME=value`)
    process.exit(2)
  }
  return Object.fromEntries(pairs)
}

/**
 * `--estimator-env COMMIT_MAX_RECORDS=200,LOG_LEVEL=debug`: extra environment for both estimators, to
 * compare settings on the same code (the report's command line says which were used).
 */
export const ESTIMATOR_ENV = envListArg('estimator-env')
/** `--bun-env NAME=value,…`: the same for the two Bun services (stock and ads). */
export const BUN_SERVICES_ENV = envListArg('bun-env')
