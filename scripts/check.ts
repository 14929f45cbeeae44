/**
 * `bun run check`: every static check of the repository, in one place, for both languages. Each
 * check runs even when an earlier one failed, so one run shows everything to fix; the command exits
 * non-zero when any failed.
 *
 * - Biome (lint + format) and tsc for TypeScript;
 * - ruff (lint + format) and mypy --strict for the estimator, from its locked environment;
 * - the size rules: no production module over 300 lines (scripts/module-size.ts), no production
 *   function over 80 (scripts/function-length.ts);
 * - hadolint and dclint for the Dockerfiles and compose.yaml.
 */
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dir, '..')
const estimator = join(root, 'estimator')
const venvBin = join(estimator, '.venv', 'bin')

interface Check {
  name: string
  cmd: string[]
  cwd?: string
}

const checks: Check[] = [
  { name: 'biome', cmd: ['bunx', 'biome', 'check', '.'] },
  { name: 'tsc', cmd: ['bunx', 'tsc', '--noEmit', '-p', 'tsconfig.json'] },
  { name: 'module size', cmd: ['bun', 'scripts/module-size.ts'] },
  { name: 'function length', cmd: ['bun', 'scripts/function-length.ts'] },
  // hadolint for the Dockerfiles, dclint for compose.yaml (infra/compose/lint.sh says what each checks).
  { name: 'container lint', cmd: ['bash', 'infra/compose/lint.sh'] },
]
if (existsSync(join(venvBin, 'ruff'))) {
  checks.push(
    { name: 'ruff check', cmd: [join(venvBin, 'ruff'), 'check', '.'], cwd: estimator },
    { name: 'ruff format', cmd: [join(venvBin, 'ruff'), 'format', '--check', '.'], cwd: estimator },
    { name: 'mypy --strict', cmd: [join(venvBin, 'mypy')], cwd: estimator },
  )
} else {
  // A missing environment is a failure, not a silent pass: the Python half would go unchecked.
  checks.push({
    name: 'estimator environment',
    cmd: ['sh', '-c', 'echo "estimator/.venv is missing: run bash estimator/scripts/setup.sh" >&2; exit 1'],
  })
}

const failed: string[] = []
for (const check of checks) {
  const started = performance.now()
  const child = Bun.spawn(check.cmd, { cwd: check.cwd ?? root, stdout: 'inherit', stderr: 'inherit' })
  const code = await child.exited
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  console.log(`[check] ${code === 0 ? 'ok    ' : 'FAILED'} ${check.name} (${seconds} s)`)
  if (code !== 0) failed.push(check.name)
}
if (failed.length > 0) {
  console.error(`[check] failed: ${failed.join(', ')}`)
  process.exit(1)
}
