import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { repoRoot, runCommand, uniqueName } from '@vehicles/testing'
import { toJsonSchemaText } from './json-schema'
import { registerAll } from './register'
import type { RegistryClient } from './registry-client'
import { NAME_PATTERN } from './schemas/common'
import { VehicleCreatedEvent } from './schemas/events'
import { contentHash } from './superseded'
import { dropSubject, liveRegistry } from './testing/registry'

/**
 * `bun run contracts:register` as a process, against the real registry, on a throwaway subject:
 * v1 registers, v1 again changes nothing, a BACKWARD-breaking v2 is refused with exit 1, and an
 * optional field added to the closed object is accepted.
 */
const subject = `${uniqueName('register')}-stock.vehicle-created-value`
const dir = mkdtempSync(join(tmpdir(), 'contracts-register-'))
let url = ''
let client: RegistryClient

type Schema = {
  required: string[]
  properties: Record<string, unknown>
}

const v1 = JSON.parse(toJsonSchemaText(VehicleCreatedEvent)) as Schema
/** Breaks BACKWARD: a new required field, which records written with v1 do not have. */
const breaking: Schema = {
  ...v1,
  properties: { ...v1.properties, dealer: { type: 'string' } },
  required: [...v1.required, 'dealer'],
}
/** Keeps BACKWARD: the same field, optional (v1 objects are closed, so v1 records never carried it). */
const additive: Schema = { ...v1, properties: { ...v1.properties, dealer: { type: 'string' } } }

async function register(name: string, schema: Schema) {
  const file = join(dir, `${name}.json`)
  writeFileSync(file, `${JSON.stringify(schema, null, 2)}\n`)
  return runCommand(['bun', 'run', 'contracts:register', '--subject', subject, '--file', file], {
    cwd: repoRoot,
    env: { ...process.env, SCHEMA_REGISTRY_URL: url },
  })
}

beforeAll(async () => {
  ;({ url, client } = await liveRegistry())
})

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true })
  if (client) await dropSubject(client, subject)
})

describe('contracts:register against the real registry', () => {
  test('registers once, idempotently, refuses a BACKWARD break, accepts an optional field', async () => {
    const first = await register('v1', v1)
    expect(first.output).toContain(`${subject}: registered as schema id`)
    expect(first.code).toBe(0)
    const id = /schema id (\d+), version 1/.exec(first.stdout)?.[1]
    expect(id).toBeDefined()

    const again = await register('v1', v1)
    expect(again.output).toContain(`${subject}: already registered as schema id ${id}, version 1`)
    expect(again.code).toBe(0)

    const refused = await register('breaking', breaking)
    expect(refused.output).toContain('refused, the schema is not BACKWARD-compatible')
    expect(refused.code).toBe(1)
    expect(await client.request('GET', `/subjects/${encodeURIComponent(subject)}/versions`)).toEqual([1])

    const accepted = await register('additive', additive)
    expect(accepted.output).toContain('version 2, BACKWARD')
    expect(accepted.code).toBe(0)
  })
})

describe('a superseded version (names checked with `\\S`) is replaced, nothing else is', () => {
  const current = toJsonSchemaText(VehicleCreatedEvent)
  // The version before explicit character classes: the same schema with `\S` as the name rule.
  const ambiguous = current.replaceAll(JSON.stringify(NAME_PATTERN), JSON.stringify('\\S'))
  const other = `${uniqueName('superseded')}-stock.vehicle-created-value`
  afterAll(async () => {
    if (client) await dropSubject(client, other)
  })

  test('the registry itself calls the new name rule incompatible with `\\S`', async () => {
    expect(ambiguous).not.toBe(current)
    await registerAll(client, [{ subject: other, schema: ambiguous }])
    await expect(registerAll(client, [{ subject: other, schema: current }])).rejects.toMatchObject({
      status: 409,
    })
  })

  test('listed as superseded, it is replaced and the subject is BACKWARD again', async () => {
    const listed = (subject: string, text: string) =>
      subject === other && contentHash(text) === contentHash(ambiguous)
    const [result] = await registerAll(client, [{ subject: other, schema: current }], listed)
    expect(result).toMatchObject({ subject: other, created: true, replacedSuperseded: true, version: 2 })
    expect(await client.compatibility(other)).toBe('BACKWARD')
    // Once replaced, the latest version is no longer listed: another incompatible change is refused again.
    const withDealer = JSON.parse(current) as Schema
    withDealer.properties.dealer = { type: 'string' }
    withDealer.required.push('dealer')
    await expect(
      registerAll(client, [{ subject: other, schema: JSON.stringify(withDealer) }], listed),
    ).rejects.toMatchObject({ status: 409 })
  })
})
