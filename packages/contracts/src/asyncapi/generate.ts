/** Writes `asyncapi/asyncapi.json` from the contracts and infra/topics.json; part of `bun run generate`. */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import packageJson from '../../package.json'
import { asyncApiDocument, asyncApiText } from './document'
import { readTopicSettings } from './system'

/** Package-relative path of the committed document; the services serve this file. */
export const ASYNCAPI_FILE = 'asyncapi/asyncapi.json'

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
