/**
 * Fails when a production module is over 300 lines. Large modules are where the system's guarantees
 * hide: a reader must be able to hold one concern (leadership, a transaction, a partition lane) at once.
 * Tests, benches and generated files are not production modules.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { Glob } from 'bun'

export const MAX_LINES = 300

const root = resolve(import.meta.dir, '..')
const production = ['packages/*/src/**/*.ts', 'estimator/src/**/*.py', 'infra/**/*.ts', 'scripts/**/*.ts']
const notProduction = [/\.test\.ts$/, /(^|\/)node_modules\//, /(^|\/)testing\//, /int-(support|helpers)\.ts$/]

const tooLong: string[] = []
let read = 0
for (const pattern of production) {
  for (const path of new Glob(pattern).scanSync({ cwd: root })) {
    if (notProduction.some((rule) => rule.test(path))) continue
    read += 1
    const lines = readFileSync(resolve(root, path), 'utf8').split('\n').length - 1
    if (lines > MAX_LINES) tooLong.push(`${path}: ${lines} lines`)
  }
}
if (tooLong.length > 0) {
  console.error(`production modules over ${MAX_LINES} lines (split them along their seams):`)
  for (const line of tooLong.sort()) console.error(`  ${line}`)
  process.exit(1)
}
console.log(`${read} production modules, none over ${MAX_LINES} lines`)
