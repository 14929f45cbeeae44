/**
 * What counts as production code for the size rules (scripts/module-size.ts, scripts/function-length.ts):
 * the services' and packages' sources, the estimator, the local stack and the scripts. Tests, test
 * helpers, benches and generated files are not production code.
 */
import { resolve } from 'node:path'
import { Glob } from 'bun'

export const repoRoot = resolve(import.meta.dir, '..')

const production = ['packages/*/src/**/*.ts', 'estimator/src/**/*.py', 'infra/**/*.ts', 'scripts/**/*.ts']
const notProduction = [/\.test\.ts$/, /(^|\/)node_modules\//, /(^|\/)testing\//, /int-(support|helpers)\.ts$/]

/** Paths of every production file, relative to the repository root, sorted. */
export function productionFiles(): string[] {
  const found = new Set<string>()
  for (const pattern of production) {
    for (const path of new Glob(pattern).scanSync({ cwd: repoRoot })) {
      if (!notProduction.some((rule) => rule.test(path))) found.add(path)
    }
  }
  return [...found].sort()
}
