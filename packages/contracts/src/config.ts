import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { type Static, Type } from '@sinclair/typebox'
import { check } from './validate'

/** Environment of the `contracts:register` command; the only place in this package that reads it. */
export const RegisterEnv = Type.Object({
  SCHEMA_REGISTRY_URL: Type.String({ pattern: '^https?://', description: 'Confluent API base URL' }),
})
export type RegisterEnv = Static<typeof RegisterEnv>

const repoRoot = resolve(import.meta.dir, '../../..')

/**
 * `SCHEMA_REGISTRY_URL` from the environment, or else from the local stack's `.stack/stack.env`
 * (so `bun run contracts:register` works right after `bun run stack up`). Exits with a clear message
 * when neither gives a valid URL.
 */
export function loadRegisterEnv(env: Record<string, string | undefined> = process.env): RegisterEnv {
  let url = env.SCHEMA_REGISTRY_URL
  let source = 'SCHEMA_REGISTRY_URL'
  const stackFile = join(repoRoot, '.stack', 'stack.env')
  if (url === undefined && existsSync(stackFile)) {
    url = /^SCHEMA_REGISTRY_URL=(.*)$/m.exec(readFileSync(stackFile, 'utf8'))?.[1]?.trim()
    source = `SCHEMA_REGISTRY_URL in ${stackFile}`
  }
  const value = { SCHEMA_REGISTRY_URL: url }
  const violations = check(RegisterEnv, value)
  if (violations.length > 0) {
    const why =
      url === undefined ? 'is not set' : `is invalid (${violations.map((v) => v.message).join('; ')})`
    console.error(`contracts:register: ${source} ${why}; set it to the registry's Confluent API URL`)
    process.exit(2)
  }
  return value as RegisterEnv
}
