/** Writes `asyncapi/asyncapi.json` from the contracts and the topic definition; part of `bun run generate`. */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import packageJson from '../../package.json'
import { topicSettings } from '../topics'
import { asyncApiDocument, asyncApiText } from './document'
import { ASYNCAPI_FILE } from './file'

/** The document's text as the current sources generate it. */
export function asyncApiSource(): string {
  return asyncApiText(asyncApiDocument({ topics: topicSettings(), version: packageJson.version }))
}

export function writeAsyncApi(packageRoot: string): string {
  const path = join(packageRoot, ASYNCAPI_FILE)
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, asyncApiSource())
  return ASYNCAPI_FILE
}
