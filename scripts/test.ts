/**
 * The one test command (`bun run test`): static checks, `stack up` (a no-op when it runs), the
 * TypeScript suites (unit and integration, against the local stack), the estimator's pytest suite, then the suites that kill processes, and the
 * stack lifecycle suite last because it stops and restarts everything.
 *
 * It ends with one line `tests: N passed, N failed` summed over every runner, and exits non-zero when
 * any step failed or when a step ran no test at all.
 */

import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Glob } from 'bun'

const root = resolve(import.meta.dir, '..')

interface StepResult {
  name: string
  ok: boolean
  passed: number
  failed: number
  seconds: number
  /** What to show again under the summary: the failing tests' names, or the tail of a step that failed without any. */
  failures: string[]
}

interface Step {
  name: string
  cmd: string[]
  cwd?: string
  env?: Record<string, string>
  /** Reads the runner's closing lines. */
  count: (output: string) => { passed: number; failed: number }
}

function bunCounts(output: string) {
  const passed = Number(/^\s*(\d+) pass$/m.exec(output)?.[1] ?? 0)
  const failed = Number(/^\s*(\d+) fail$/m.exec(output)?.[1] ?? 0)
  return { passed, failed }
}

function pytestCounts(output: string) {
  const summary = output.split('\n').findLast((line) => /\d+ (passed|failed)/.test(line)) ?? ''
  const passed = Number(/(\d+) passed/.exec(summary)?.[1] ?? 0)
  const failed =
    Number(/(\d+) failed/.exec(summary)?.[1] ?? 0) + Number(/(\d+) errors?/.exec(summary)?.[1] ?? 0)
  return { passed, failed }
}

const noCount = () => ({ passed: 0, failed: 0 })

// bunfig's [test] timeout does not reach every test here, so the per-test budget is given on the
// command line: integration tests talk to real processes on a 2-core machine.
// bunfig's pathIgnorePatterns keeps the stack suites out of a plain `bun test`, even when named; the flag
// replaces those patterns, so the files named here run.
const bunTest = ['bun', 'test', '--timeout', '120000', '--path-ignore-patterns=**/node_modules/**']

function testFiles(predicate: (path: string) => boolean): string[] {
  const files: string[] = []
  for (const pattern of [
    'packages/*/src/**/*.test.ts',
    'infra/**/*.test.ts',
    'scripts/*.test.ts',
    'tests/**/*.test.ts',
  ]) {
    for (const path of new Glob(pattern).scanSync({ cwd: root })) {
      if (!path.includes('node_modules') && predicate(path)) files.push(`./${path}`)
    }
  }
  return files.sort()
}

const isFaults = (path: string) => path.endsWith('.faults.int.test.ts') || path.startsWith('tests/faults/')
const isLifecycle = (path: string) => path.endsWith('lifecycle.int.test.ts')
const isBrowser = (path: string) => path.startsWith('tests/browser/')
// The runner under whole-cluster and whole-stack outages (minutes each): `bun run test:system`.
const isOutage = (path: string) => path.endsWith('.outage.int.test.ts')

async function run(step: Step): Promise<StepResult> {
  const started = performance.now()
  console.log(`\n=== ${step.name}: ${step.cmd.join(' ')}`)
  const child = Bun.spawn(step.cmd, {
    cwd: step.cwd ?? root,
    env: { ...process.env, VEHICLES_TEST_STEP: step.name, ...step.env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  let output = ''
  const pump = async (stream: ReadableStream<Uint8Array>, sink: NodeJS.WriteStream) => {
    const decoder = new TextDecoder()
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true })
      output += text
      sink.write(text)
    }
  }
  await Promise.all([pump(child.stdout, process.stdout), pump(child.stderr, process.stderr)])
  const code = await child.exited
  const { passed, failed } = step.count(output)
  const seconds = (performance.now() - started) / 1000
  const lines = output.split('\n')
  let failures = lines.filter((line) => /^\(fail\) |^(FAILED|ERROR) /.test(line))
  if (code !== 0 && failures.length === 0) failures = lines.filter((line) => line.trim() !== '').slice(-15)
  return { name: step.name, ok: code === 0, passed, failed, seconds, failures }
}

const steps: Step[] = [
  { name: 'static checks', cmd: ['bun', 'run', 'check'], count: noCount },
  // A no-op when the stack already runs; otherwise the suites below would only say "stack is not up".
  { name: 'stack up', cmd: ['bun', 'run', 'stack', 'up'], count: noCount },
]

const mainFiles = testFiles(
  (path) => !isFaults(path) && !isLifecycle(path) && !isBrowser(path) && !isOutage(path),
)
steps.push({ name: 'TypeScript suites', cmd: [...bunTest, ...mainFiles], count: bunCounts })

// The documentation pages in headless Chromium with every non-loopback request blocked; screenshots
// land in test-output/browser/ (TEST_OUTPUT_DIR to move it).
const browserFiles = testFiles(isBrowser)
if (browserFiles.length > 0) {
  steps.push({ name: 'browser pages', cmd: [...bunTest, ...browserFiles], count: bunCounts })
}

const pytest = join(root, 'estimator', '.venv', 'bin', 'pytest')
if (existsSync(join(root, 'estimator', 'pyproject.toml'))) {
  steps.push({ name: 'estimator suite', cmd: [pytest], cwd: join(root, 'estimator'), count: pytestCounts })
}

// The component fault tests (a broker, a registry instance, the databases, SIGTERM) run in every
// `bun run test`. The system fault suite of tests/faults/ (seven cases under thousands of POSTs, about
// 15 minutes on 2 cores, with recovery deadlines that a loaded machine can miss) runs on request:
// `bun run test:faults`; its figures are in docs/reliability.md.
const only = process.argv.slice(2)
const systemFaults = only.some((word) => 'system fault suites'.includes(word) && word.length > 0)
const componentFaultFiles = testFiles((path) => isFaults(path) && !path.startsWith('tests/faults/'))
if (componentFaultFiles.length > 0) {
  steps.push({ name: 'fault suites', cmd: [...bunTest, ...componentFaultFiles], count: bunCounts })
}
const systemFaultFiles = testFiles((path) => path.startsWith('tests/faults/'))
if (systemFaults && systemFaultFiles.length > 0) {
  steps.push({ name: 'system fault suites', cmd: [...bunTest, ...systemFaultFiles], count: bunCounts })
}

const outageFiles = testFiles(isOutage)
if (only.some((word) => word.length > 0 && 'runner outages'.includes(word)) && outageFiles.length > 0) {
  steps.push({ name: 'runner outages', cmd: [...bunTest, ...outageFiles], count: bunCounts })
}

const lifecycleFiles = testFiles(isLifecycle)
if (lifecycleFiles.length > 0) {
  steps.push({
    name: 'stack lifecycle',
    cmd: [...bunTest, ...lifecycleFiles],
    env: { STACK_LIFECYCLE_TESTS: '1' },
    count: bunCounts,
  })
}

const results: StepResult[] = []
for (const step of steps) {
  if (only.length > 0 && !only.some((word) => step.name.includes(word))) continue
  results.push(await run(step))
}

console.log('\n=== summary')
for (const r of results) {
  const verdict = r.ok ? 'ok' : 'FAILED'
  console.log(
    `${verdict.padEnd(6)} ${r.name.padEnd(18)} ${r.passed} passed, ${r.failed} failed  ${r.seconds.toFixed(1)} s`,
  )
}
for (const r of results.filter((result) => result.failures.length > 0)) {
  console.log(`\n--- ${r.name}: what failed`)
  for (const line of r.failures) console.log(`  ${line}`)
}
const passed = results.reduce((sum, r) => sum + r.passed, 0)
const failed = results.reduce((sum, r) => sum + r.failed, 0)
const brokenSteps = results.filter(
  (r) => !r.ok || (!['static checks', 'stack up'].includes(r.name) && r.passed + r.failed === 0),
)
console.log(`tests: ${passed} passed, ${failed} failed`)
process.exit(brokenSteps.length > 0 || failed > 0 || passed === 0 ? 1 : 0)
