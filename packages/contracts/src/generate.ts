import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { GENERATED_FILES } from './artifacts'
import { writeAsyncApi } from './asyncapi/generate'
import { toJsonSchemaText } from './json-schema'

/** Package root (`packages/contracts`). */
export const packageRoot = resolve(import.meta.dir, '..')

/** Writes every generated JSON Schema file, and the AsyncAPI document, from the source. Run: `bun run generate`. */
export function generate(root: string = packageRoot): string[] {
  const written: string[] = []
  for (const { file, schema } of GENERATED_FILES) {
    const path = join(root, file)
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, toJsonSchemaText(schema))
    written.push(file)
  }
  written.push(writeAsyncApi(root))
  return written
}

if (import.meta.main) {
  for (const file of generate()) console.log(`wrote ${file}`)
}
