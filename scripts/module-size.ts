/**
 * Fails when a production module is over 300 lines. Large modules are where the system's guarantees
 * hide: a reader must be able to hold one concern (leadership, a transaction, a partition lane) at once.
 * Tests, benches and generated files are not production modules.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { productionFiles, repoRoot } from './production-files'

export const MAX_LINES = 300

const tooLong: string[] = []
const files = productionFiles()
for (const path of files) {
  const lines = readFileSync(resolve(repoRoot, path), 'utf8').split('\n').length - 1
  if (lines > MAX_LINES) tooLong.push(`${path}: ${lines} lines`)
}
if (tooLong.length > 0) {
  console.error(`production modules over ${MAX_LINES} lines (split them along their seams):`)
  for (const line of tooLong) console.error(`  ${line}`)
  process.exit(1)
}
console.log(`${files.length} production modules, none over ${MAX_LINES} lines`)
