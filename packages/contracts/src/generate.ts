import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { GENERATED_FILES } from './artifacts'
import { writeAsyncApi } from './asyncapi/generate'
import { toJsonSchemaText } from './json-schema'
import { TOPICS_FILE, topicsFileText } from './topics'

/** Package root (`packages/contracts`). */
export const packageRoot = resolve(import.meta.dir, '..')

/**
 * Writes every generated JSON Schema file, the AsyncAPI document and the repository's
 * `infra/topics.json` from the source. Run: `bun run generate`.
 */
export function generate(root: string = packageRoot): string[] {
  const written: string[] = []
  for (const { file, schema } of GENERATED_FILES) {
    const path = join(root, file)
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, toJsonSchemaText(schema))
    written.push(file)
  }
  written.push(writeAsyncApi(root))
  writeFileSync(join(root, '..', '..', TOPICS_FILE), topicsFileText())
  written.push(join('..', '..', TOPICS_FILE))
  return written
}

if (import.meta.main) {
  for (const file of generate()) console.log(`wrote ${file}`)
}
