import { readFileSync } from 'node:fs'
import { EVENT_CONTRACTS } from './artifacts'
import { loadRegisterEnv } from './config'
import { RegistryRefusedError, RegistryUnavailableError } from './errors'
import { toJsonSchemaText } from './json-schema'
import { type Compatibility, RegistryClient } from './registry-client'
import { isSuperseded } from './superseded'

/** One schema text to register under one subject. */
export interface Registration {
  subject: string
  schema: string
}

export interface RegistrationResult {
  subject: string
  id: number
  version: number
  /** false when the exact content was already registered (nothing changed). */
  created: boolean
  /** true when it replaced a superseded version the registry calls incompatible (see superseded.ts). */
  replacedSuperseded: boolean
}

export const COMPATIBILITY: Compatibility = 'BACKWARD'

/**
 * Registers each schema idempotently and pins its subject to BACKWARD:
 * - content already registered → its id, no new version;
 * - otherwise the subject's rule is set to BACKWARD first (when the subject exists), so the registry
 *   checks the new version against the last one and refuses an incompatible change (HTTP 409);
 * - a new subject gets BACKWARD right after its first version (Apicurio cannot configure a missing one);
 * - finally the level the registry *reports* for the subject is read back, and must be BACKWARD
 *   (Apicurio answers the global default for subjects without a rule).
 * Throws `RegistryRefusedError` (e.g. incompatible) or `RegistryUnavailableError`.
 */
export async function registerAll(
  registry: RegistryClient,
  registrations: readonly Registration[],
  /** Which registered texts may be replaced although incompatible (tests pass their own). */
  replaceable: (subject: string, schemaText: string) => boolean = isSuperseded,
): Promise<RegistrationResult[]> {
  const results: RegistrationResult[] = []
  for (const { subject, schema } of registrations) {
    const existing = await registry.lookup(subject, schema)
    const subjectExists = existing !== null || (await registry.subjects()).includes(subject)
    if (subjectExists) await registry.setCompatibility(subject, COMPATIBILITY)
    const replacedSuperseded =
      existing === null && (await registerOrReplace(registry, subject, schema, replaceable))
    if (!subjectExists) await registry.setCompatibility(subject, COMPATIBILITY)
    const level = await registry.compatibility(subject)
    if (level !== COMPATIBILITY) {
      throw new Error(
        `${subject}: the registry reports compatibility ${level} after setting ${COMPATIBILITY}`,
      )
    }
    const found = existing ?? (await registry.lookup(subject, schema))
    if (found === null) throw new Error(`${subject}: registered, but the lookup by content does not find it`)
    results.push({
      subject,
      id: found.id,
      version: found.version,
      created: existing === null,
      replacedSuperseded,
    })
  }
  return results
}

/**
 * Registers under the subject's BACKWARD rule. Refused as incompatible while the latest version is one
 * `superseded.ts` lists, it registers with the rule off for that one version and puts BACKWARD back.
 * Returns whether that happened.
 */
async function registerOrReplace(
  registry: RegistryClient,
  subject: string,
  schema: string,
  replaceable: (subject: string, schemaText: string) => boolean,
) {
  try {
    await registry.register(subject, schema)
    return false
  } catch (error) {
    if (!(error instanceof RegistryRefusedError && error.status === 409)) throw error
    const latest = await registry.latest(subject)
    if (latest === null || !replaceable(subject, latest)) throw error
  }
  await registry.setCompatibility(subject, 'NONE')
  try {
    await registry.register(subject, schema)
  } finally {
    await registry.setCompatibility(subject, COMPATIBILITY)
  }
  return true
}

/** Every event subject with the text of its generated file (the same text the services look up). */
export function eventRegistrations(): Registration[] {
  return EVENT_CONTRACTS.map(({ subject, schema }) => ({ subject, schema: toJsonSchemaText(schema) }))
}

/**
 * CLI: `bun run contracts:register` registers every event subject. For tests and one-off checks,
 * `--subject <name> --file <path>` registers one file under one subject instead.
 */
async function main(argv: string[]): Promise<number> {
  const { SCHEMA_REGISTRY_URL } = loadRegisterEnv()
  let registrations = eventRegistrations()
  const subject = flag(argv, '--subject')
  const file = flag(argv, '--file')
  if ((subject === undefined) !== (file === undefined)) {
    console.error('contracts:register: --subject and --file go together')
    return 2
  }
  if (subject !== undefined && file !== undefined)
    registrations = [{ subject, schema: readFileSync(file, 'utf8') }]
  const registry = new RegistryClient({
    url: SCHEMA_REGISTRY_URL,
    onRetry: ({ attempt, delayMs, error }) =>
      console.error(
        `contracts:register: registry not answering (attempt ${attempt}: ${error.message}); retrying in ${delayMs} ms`,
      ),
  })
  try {
    for (const result of await registerAll(registry, registrations)) {
      const what = result.replacedSuperseded
        ? 'registered, replacing a superseded version (see packages/contracts/src/superseded.ts)'
        : result.created
          ? 'registered'
          : 'already registered'
      console.log(
        `${result.subject}: ${what} as schema id ${result.id}, version ${result.version}, ${COMPATIBILITY}`,
      )
    }
    return 0
  } catch (error) {
    if (error instanceof RegistryRefusedError && error.status === 409) {
      console.error(
        `contracts:register: refused, the schema is not ${COMPATIBILITY}-compatible with the registered one: ${error.message}`,
      )
    } else if (error instanceof RegistryRefusedError || error instanceof RegistryUnavailableError) {
      console.error(`contracts:register: ${error.message}`)
    } else {
      console.error(`contracts:register: ${(error as Error).message}`)
    }
    return 1
  }
}

function flag(argv: string[], name: string): string | undefined {
  const index = argv.indexOf(name)
  return index === -1 ? undefined : argv[index + 1]
}

if (import.meta.main) process.exit(await main(process.argv.slice(2)))
