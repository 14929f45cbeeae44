/**
 * The one place a service reads its environment: a TypeBox schema of its variables, validated at boot.
 * Strings from the environment are converted (numbers, booleans), defaults applied from the schema, and
 * every bad or missing variable is named at once. There are no default secrets: a secret has no
 * `default` in its schema, so leaving it out is an error.
 */
import type { Static, TObject } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'

export interface ConfigProblem {
  variable: string
  message: string
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(
      `invalid configuration:\n${problems.map((p) => `  ${p.variable || '(environment)'}: ${p.message}`).join('\n')}`,
    )
  }
}

type Env = Record<string, string | undefined>

/**
 * Validates `env` against `schema` and returns the typed config, or throws `ConfigError`.
 * Empty strings count as unset (a `FOO=` line in a .env file means "not given").
 */
export function parseConfig<T extends TObject>(schema: T, env: Env): Static<T> {
  const picked: Record<string, unknown> = {}
  for (const key of Object.keys(schema.properties)) {
    const value = env[key]
    if (value !== undefined && value !== '') picked[key] = value
  }
  const withDefaults = Value.Default(schema, picked)
  const converted = Value.Convert(schema, withDefaults)
  const problems: ConfigProblem[] = []
  const seen = new Set<string>()
  for (const error of Value.Errors(schema, converted)) {
    const variable = error.path.split('/')[1] ?? ''
    // TypeBox reports a missing property as well as "expected string" for it; one line per variable.
    if (seen.has(variable)) continue
    seen.add(variable)
    const given = picked[variable]
    problems.push({
      variable,
      message: given === undefined ? 'is required' : `${error.message} (got ${JSON.stringify(given)})`,
    })
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return converted as Static<T>
}

/**
 * `parseConfig` for a process at boot: on a bad value it prints which variables are wrong to stderr
 * and exits 1, before anything starts.
 */
export function loadConfig<T extends TObject>(
  schema: T,
  env: Env = process.env,
  exit: (code: number) => never = process.exit,
): Static<T> {
  try {
    return parseConfig(schema, env)
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`)
      return exit(1)
    }
    throw error
  }
}
