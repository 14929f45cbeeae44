/** Writes `asyncapi/asyncapi.json` from the contracts and infra/topics.json; part of `bun run generate`. */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import packageJson from '../../package.json'
import { asyncApiDocument, asyncApiText } from './document'
import { ASYNCAPI_FILE } from './file'
import { readTopicSettings } from './system'

/** The document's text as the current sources generate it. */
export function asyncApiSource(packageRoot: string): string {
  const repoRoot = resolve(packageRoot, '..', '..')
  return asyncApiText(asyncApiDocument({ topics: readTopicSettings(repoRoot), version: packageJson.version }))
}

export function writeAsyncApi(packageRoot: string): string {
  const path = join(packageRoot, ASYNCAPI_FILE)
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, asyncApiSource(packageRoot))
  return ASYNCAPI_FILE
}
