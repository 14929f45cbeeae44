/**
 * The candidates of the POST /stock benchmark and how each is started (also used by profile.ts).
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { type Candidate, freePort, startCandidate } from '../lib/service'

export const NAMES = ['bare', 'stock', 'nest', 'stock-smol', 'stock-purge', 'stock-ram'] as const
export const DEFAULT_NAMES = ['bare', 'stock', 'nest']
export type Name = (typeof NAMES)[number]

const root = join(import.meta.dir, '..', '..')
const nestDir = join(import.meta.dir, 'nest-ref')

/** Node 20, npm ci from the lock file when needed, tsc: the reference as the original would run it. */
export async function prepareNest(say: (line: string) => void): Promise<string> {
  const run = (argv: string[]) => {
    const result = Bun.spawnSync(argv, { cwd: nestDir, stdout: 'pipe', stderr: 'pipe' })
    if (result.exitCode !== 0)
      throw new Error(`${argv.join(' ')} failed:\n${result.stdout.toString()}${result.stderr.toString()}`)
    return result.stdout.toString().trim()
  }
  const version = run(['node', '--version'])
  if (!version.startsWith('v20.')) throw new Error(`the NestJS reference runs on Node 20; node is ${version}`)
  if (!existsSync(join(nestDir, 'node_modules', '@nestjs', 'core'))) {
    say('installing the NestJS reference (npm ci)')
    run(['npm', 'ci', '--ignore-scripts', '--no-audit', '--no-fund'])
  }
  run(['node', join(nestDir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'])
  return version
}

export function launchCandidate(
  name: Name,
  databaseUrl: string,
  pool: number,
  /** Extra Bun flags for the Bun candidates (`--cpu-prof …`). */
  bunFlags: string[] = [],
): Promise<Candidate> {
  const port = freePort()
  const common = { name: `post-${name}`, port, readyPath: '/stock?limit=1' }
  if (name === 'bare') {
    return startCandidate({
      ...common,
      argv: [
        process.execPath,
        ...bunFlags,
        join(import.meta.dir, 'bare.ts'),
        '--port',
        String(port),
        '--database-url',
        databaseUrl,
        '--pool',
        String(pool),
      ],
      cwd: root,
    })
  }
  if (name === 'nest') {
    return startCandidate({
      ...common,
      argv: [
        'node',
        join(nestDir, 'dist', 'main.cjs'),
        '--port',
        String(port),
        '--database-url',
        databaseUrl,
        '--pool',
        String(pool),
      ],
      cwd: nestDir,
      env: { NODE_ENV: 'production' },
    })
  }
  return startCandidate({
    ...common,
    // stock-smol: the same service under `bun --smol` (a smaller, more eagerly collected heap).
    argv: [
      process.execPath,
      ...bunFlags,
      ...(name === 'stock-smol' ? ['--smol'] : []),
      join(root, 'packages', 'stock', 'src', 'main.ts'),
    ],
    cwd: join(root, 'packages', 'stock'),
    // No KAFKA_BROKERS: the relay is off, so the process does what the references do (its default
    // log level and metrics stay on: they are part of the service).
    env: {
      DATABASE_URL: databaseUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      DB_POOL_MAX: String(pool),
      LOG_LEVEL: 'info',
      // stock-purge: Bun's allocator (mimalloc) gives freed pages back to the system at once instead of
      // after its default delay, which is most of the RSS outside the JS heap under load.
      ...(name === 'stock-purge' ? { MIMALLOC_PURGE_DELAY: '0' } : {}),
      ...(name === 'stock-ram' ? { BUN_JSC_forceRAMSize: process.env.BENCH_RAM_SIZE ?? '268435456' } : {}),
    },
  })
}

const VIN_ALPHABET = 'ABCDEFGHJKLMNPRSTUVWXYZ0123456789'
let prefixes = 0
/** A distinct 4-character VIN prefix per wrk run (post.lua appends thread and counter). */
export const nextPrefix = () => {
  let n = prefixes++
  let out = ''
  for (let i = 0; i < 4; i++) {
    out = VIN_ALPHABET[n % 33] + out
    n = Math.floor(n / 33)
  }
  return out
}
