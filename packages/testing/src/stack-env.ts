import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

/** Endpoints of the local stack, as written by `bun run stack up` into `.stack/stack.env`. */
export interface StackEnv {
  KAFKA_BROKERS: string
  SCHEMA_REGISTRY_URL: string
  DATABASE_URL: string
  MONGODB_URL: string
  /** Every other key of the file (per-instance addresses, ports). */
  [key: string]: string
}

const REQUIRED = ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'DATABASE_URL', 'MONGODB_URL'] as const

export const repoRoot = resolve(import.meta.dir, '../../..')

/**
 * Reads `.stack/stack.env`. Integration tests call this first: when the stack is not up they fail
 * with a message that says what to run, instead of skipping silently.
 */
export function stackEnv(root: string = repoRoot): StackEnv {
  const file = process.env.STACK_ENV_FILE ?? join(root, '.stack', 'stack.env')
  if (!existsSync(file)) {
    throw new Error(`the local stack is not up (${file} is missing): run \`bun run stack up\` first`)
  }
  const env: Record<string, string> = {}
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line)
    if (match?.[1] !== undefined && match[2] !== undefined) env[match[1]] = match[2].trim()
  }
  const missing = REQUIRED.filter((key) => !env[key])
  if (missing.length > 0)
    throw new Error(`${file} lacks ${missing.join(', ')}: run \`bun run stack up\` again`)
  return env as StackEnv
}
