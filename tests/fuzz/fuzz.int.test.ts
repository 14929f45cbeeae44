/**
 * API fuzzing: schemathesis generates requests from each service's own OpenAPI document
 * (`/openapi/json`) and checks every answer against it: no server error, only documented status codes,
 * content types and headers, bodies that match their documented schema, invalid input refused.
 *
 * Excluded, and why:
 * - `/health/ready`: it answers 503 by design whenever a dependency on the shared stack is away, which the
 *   `not_a_server_error` check cannot tell from a failure.
 * - `positive_data_acceptance`: some rules cannot be written in JSON Schema and are enforced, and
 *   documented, as 400/422: the model year's moving upper bound (next year), `yearFrom <= yearTo`, a
 *   cursor must be one the service issued, an Idempotency-Key reused with another body.
 * - `unsupported_method` (405 for undeclared methods): the platform answers 404 `not_found` for any
 *   method/path pair it has no route for; a documented choice, not a broken contract.
 * - `ignored_auth`, `object_level_authorization`: the APIs have no authentication.
 *
 * Needs `bun run stack up` and `tests/fuzz/setup.sh` (schemathesis in .stack/fuzz-venv).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot, type System, startSystem } from '../support/system'

const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_headers_conformance',
  'response_schema_conformance',
  'negative_data_rejection',
  'missing_required_header',
  'use_after_free',
  'ensure_resource_availability',
].join(',')
const MAX_EXAMPLES = 50
const schemathesis = join(repoRoot, '.stack', 'fuzz-venv', 'bin', 'schemathesis')
const workDir = join(repoRoot, '.stack', 'fuzz')

let system: System

beforeAll(async () => {
  if (!existsSync(schemathesis)) {
    throw new Error(
      `schemathesis is not installed (${schemathesis} is missing): run tests/fuzz/setup.sh first`,
    )
  }
  system = await startSystem({
    purpose: 'tests/fuzz',
    estimateDelaySeconds: 0,
    say: (line) => console.log(`[system] ${line}`),
  })
}, 720_000) // up to 10 min waiting for another system run (lock.ts), then the start

afterAll(async () => {
  await system?.stop()
}, 120_000)

async function fuzz(baseUrl: string): Promise<{ code: number; output: string }> {
  // Hypothesis keeps its example database in the working directory: keep it out of the repository.
  mkdirSync(workDir, { recursive: true })
  const child = Bun.spawn(
    [
      schemathesis,
      'run',
      `${baseUrl}/openapi/json`,
      '--checks',
      CHECKS,
      '--max-examples',
      String(MAX_EXAMPLES),
      '--exclude-path-regex',
      '^/health/ready$',
      // One worker: Hypothesis' lambda-source cache is not thread-safe (it raised "AST constructor
      // recursion depth mismatch" with two).
      '--workers',
      '1',
      '--request-timeout',
      '10',
      '--no-color',
    ],
    {
      cwd: workDir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? workDir },
      stdout: 'pipe',
      stderr: 'pipe',
      timeout: 600_000,
      killSignal: 'SIGKILL',
    },
  )
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ])
  return { code, output: `${stdout}${stderr}` }
}

/** "128 generated, 0 found ..." and schemathesis' closing "=== N passed in 19 s ===" line. */
function summary(output: string): string {
  const lines = output.split('\n').map((line) => line.trim())
  const cases = lines.find((line) => /^\d+ generated/.test(line))
  const closing = lines.findLast((line) => /^=+ .* in [\d.]+s =+$/.test(line))
  return [cases, closing?.replace(/=+/g, '').trim()].filter(Boolean).join('; ') || output.slice(-500)
}

for (const service of ['stock', 'ads'] as const) {
  test(`schemathesis on vehicles-${service}'s OpenAPI document: no server error, every answer as documented`, async () => {
    const { code, output } = await fuzz(system.url(service))
    console.log(`fuzz ${service}: ${summary(output)}`)
    if (code !== 0) console.log(output)
    expect(output).toContain('generated')
    expect(code, `schemathesis exited ${code}; its report is printed above`).toBe(0)
  }, 600_000)
}
