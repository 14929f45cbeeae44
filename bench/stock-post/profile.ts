/**
 * Where a Bun candidate's CPU goes under the POST or GET load of run.ts: the candidate runs under
 * `bun --cpu-prof --cpu-prof-md` (profiling is never on in the measured runs: it costs), is loaded by
 * wrk, stopped, and its profile summed by package (bench/lib/cpu-profile.ts). Writes
 * bench/results/profile-<candidate>-<load>.md.
 *
 * bun bench/stock-post/profile.ts [--candidate stock|bare|stock-smol] [--load post|get] [--duration 15]
 *   [--connections 32] [--pool 10]
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { stackEnv } from '../../packages/testing/src/index'
import { intArg, stringArg } from '../lib/args'
import { newestProfile, summarizeProfile } from '../lib/cpu-profile'
import { freshDatabase, runTag } from '../lib/database'
import { formatLoad, load } from '../lib/machine'
import { fixed, pct, table } from '../lib/report'
import { wrk } from '../lib/wrk'
import { launchCandidate, type Name, nextPrefix } from './candidates'

const candidate = (stringArg('candidate') ?? 'stock') as Name
const kind = stringArg('load') ?? 'post'
if (!['stock', 'bare', 'stock-smol'].includes(candidate) || !['post', 'get'].includes(kind)) {
  console.error('--candidate stock|bare|stock-smol, --load post|get')
  process.exit(2)
}
const DURATION = intArg('duration', 15, 1, 600)
const CONNECTIONS = intArg('connections', 32, 1, 1024)
const POOL = intArg('pool', 10, 1, 100)

const tag = runTag()
const dir = join(
  stackEnv().STACK_DIR ?? join(import.meta.dir, '..', '..', '.stack'),
  'bench',
  `profile-${tag}`,
)
mkdirSync(dir, { recursive: true })
const db = await freshDatabase(`bench_profile_${tag}`)
const before = load()
let requests = 0
let rps = 0
try {
  const running = await launchCandidate(candidate, db.url, POOL, [
    '--cpu-prof',
    '--cpu-prof-md',
    `--cpu-prof-dir=${dir}`,
  ])
  try {
    const script = join(import.meta.dir, 'post.lua')
    // Rows to page through, and a warm JIT, before the profiled load.
    await wrk({
      url: `${running.url}/stock`,
      durationSeconds: 3,
      threads: 1,
      connections: CONNECTIONS,
      script,
      scriptArgs: [nextPrefix()],
    })
    const result =
      kind === 'post'
        ? await wrk({
            url: `${running.url}/stock`,
            durationSeconds: DURATION,
            threads: 1,
            connections: CONNECTIONS,
            script,
            scriptArgs: [nextPrefix()],
          })
        : await wrk({
            url: `${running.url}/stock?limit=50`,
            durationSeconds: DURATION,
            threads: 1,
            connections: 8,
          })
    requests = result.requests
    rps = result.rps
  } finally {
    await running.stop()
  }
} finally {
  await db.drop()
}
const markdown = newestProfile(dir)
if (markdown === undefined) {
  console.error(`no profile written to ${dir}`)
  process.exit(1)
}
const summary = summarizeProfile(markdown, 15)
const text = [
  `### CPU profile: ${candidate} under ${kind === 'post' ? 'POST /stock' : 'GET /stock?limit=50'}`,
  '',
  `\`bun bench/stock-post/profile.ts --candidate ${candidate} --load ${kind} --duration ${DURATION}\`: ${requests} requests (${fixed(rps)} req/s while profiled), ${fixed(summary.totalMs)} ms of sampled CPU over the process's life (start and a 3 s warm-up included); load ${formatLoad(before)}.`,
  '',
  table(
    ['package', 'self ms', 'share', 'µs per request'],
    summary.byPackage.map((p) => [
      p.name,
      fixed(p.ms),
      pct(p.share),
      fixed((p.ms * 1000) / Math.max(1, requests), 1),
    ]),
  ),
  '',
  'Hottest functions (self time):',
  '',
  table(
    ['function', 'location', 'self ms', 'share'],
    summary.hot.map((h) => [`\`${h.fn}\``, `\`${h.location}\``, fixed(h.ms), pct(h.share)]),
  ),
  '',
].join('\n')
console.log(text)
const results = join(import.meta.dir, '..', 'results')
mkdirSync(results, { recursive: true })
writeFileSync(join(results, `profile-${candidate}-${kind}.md`), text)
rmSync(dir, { recursive: true, force: true })
