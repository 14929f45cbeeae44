/**
 * The three Apicurio Registry instances of the local stack, checked directly (not through nginx)
 * through the Confluent-compatible API that our serde clients use.
 *
 * Needs the stack (`bun run stack up`). Instance addresses come from `.stack/stack.env`
 * (`SCHEMA_REGISTRY_INSTANCES`, comma-separated ccompat base URLs) or default to 18071..18073; the
 * journal topic is `SCHEMA_REGISTRY_JOURNAL_TOPIC` or upstream's `kafkasql-journal`.
 * Each run uses its own subject, so runs never collide and leave nothing others depend on.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { randomUUID } from 'node:crypto'
import { clusterMetadata, stackEnv, waitFor } from '../../packages/testing/src/index'

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json'
const DEFAULT_INSTANCES = [18071, 18072, 18073].map((port) => `http://127.0.0.1:${port}/apis/ccompat/v7`)

interface Answer {
  status: number
  body: unknown
  text: string
}

async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, {
    ...init,
    headers: { accept: CONTENT_TYPE, 'content-type': CONTENT_TYPE },
    signal: AbortSignal.timeout(10_000),
  })
  const text = await response.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    body = undefined
  }
  return { status: response.status, body, text }
}

const post = (url: string, payload: unknown) => call(url, { method: 'POST', body: JSON.stringify(payload) })

/** Fails with the whole answer so a broken registry says what it returned. */
function expectAnswer(answer: Answer, status: number, what: string): void {
  if (answer.status !== status) {
    throw new Error(`${what}: expected HTTP ${status}, got ${answer.status}: ${answer.text.slice(0, 500)}`)
  }
}

function idOf(answer: Answer, what: string): number {
  expectAnswer(answer, 200, what)
  const id = (answer.body as { id?: unknown } | undefined)?.id
  if (typeof id !== 'number') throw new Error(`${what}: no numeric id in ${answer.text}`)
  return id
}

// A closed object (additionalProperties: false), like every contract of the project: with an open object, adding an optional field counts as a breaking change.
const v1 = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  properties: { vin: { type: 'string' }, year: { type: 'integer' } },
  required: ['vin', 'year'],
  additionalProperties: false,
}
// BACKWARD-compatible: a new optional field.
const v2 = { ...v1, properties: { ...v1.properties, colour: { type: 'string' } } }
// Not BACKWARD-compatible: a field changes type.
const breaking = { ...v1, properties: { ...v1.properties, year: { type: 'string' } } }

const jsonSchema = (schema: string) => ({ schemaType: 'JSON', schema })

let instances: string[] = []
let brokers = ''
let journalTopic = ''
let subject = ''

beforeAll(async () => {
  const env = stackEnv()
  brokers = env.KAFKA_BROKERS
  journalTopic = env.SCHEMA_REGISTRY_JOURNAL_TOPIC ?? 'kafkasql-journal'
  instances = env.SCHEMA_REGISTRY_INSTANCES
    ? env.SCHEMA_REGISTRY_INSTANCES.split(',').map((url) => url.trim().replace(/\/$/, ''))
    : DEFAULT_INSTANCES
  subject = `registry-int-${randomUUID()}-value`
  for (const base of instances) {
    await waitFor(
      `${base} to answer GET /subjects`,
      async () => ((await call(`${base}/subjects`)).status === 200 ? true : undefined),
      // A restarting instance replays the journal first; the stack allows it 180 s.
      { timeoutMs: 180_000, intervalMs: 500 },
    )
  }
}, 200_000)

// The subject is this run's own: remove it (soft, then permanent, as Confluent requires) so the shared
// registry does not fill up with test subjects. Best effort: a failed clean-up is reported, not fatal.
afterAll(async () => {
  const base = instances[0]
  if (!base || !subject) return
  for (const path of [`/subjects/${subject}`, `/subjects/${subject}?permanent=true`]) {
    const answer = await call(`${base}${path}`, { method: 'DELETE' }).catch((error: unknown) => ({
      status: 0,
      text: String(error),
    }))
    if (answer.status !== 200) console.warn(`clean-up DELETE ${path}: HTTP ${answer.status} ${answer.text}`)
  }
})

describe('Apicurio Registry instances (ccompat v7)', () => {
  test('there are three instances', () => {
    expect(instances).toHaveLength(3)
  })

  test('the shared journal topic has one partition on three replicas, all in sync', async () => {
    // The registry creates it itself (RF = min(3, brokers)); see README for why RF is not configured.
    const metadata = await clusterMetadata(brokers, journalTopic)
    const topic = metadata.topics.find((t) => t.topic === journalTopic)
    if (!topic || topic.error)
      throw new Error(`${journalTopic} missing on ${brokers}: ${JSON.stringify(metadata)}`)
    expect(topic.partitions).toHaveLength(1)
    expect(topic.partitions[0]?.replicas).toHaveLength(3)
    expect(topic.partitions[0]?.isrs).toHaveLength(3)
  })

  test('every instance reports the global BACKWARD rule set by configuration', async () => {
    for (const base of instances) {
      const answer = await call(`${base}/config`)
      expectAnswer(answer, 200, `GET ${base}/config`)
      expect(answer.body).toEqual({ compatibilityLevel: 'BACKWARD' })
    }
  })

  test('a subject that does not exist is a JSON 404 with error_code 40401', async () => {
    const answer = await call(`${instances[0]}/subjects/${subject}-missing/versions`)
    expectAnswer(answer, 404, 'GET versions of a missing subject')
    expect(answer.body).toMatchObject({ error_code: 40401 })
  })

  test('an unknown schema id is a JSON 404 with error_code 40403', async () => {
    const answer = await call(`${instances[1]}/schemas/ids/${2 ** 31 - 1}`)
    expectAnswer(answer, 404, 'GET an unknown schema id')
    expect(answer.body).toMatchObject({ error_code: 40403 })
  })

  let firstId = 0

  test('a JSON schema registered on one instance is readable by id from the others', async () => {
    const [writer, ...readers] = instances
    firstId = idOf(
      await post(`${writer}/subjects/${subject}/versions`, jsonSchema(JSON.stringify(v1))),
      'register v1',
    )
    for (const reader of readers) {
      // The journal is replayed by every instance asynchronously: wait, with a deadline.
      const answer = await waitFor(`schema ${firstId} on ${reader}`, async () => {
        const got = await call(`${reader}/schemas/ids/${firstId}`)
        return got.status === 200 ? got : undefined
      })
      const body = answer.body as { schema: string; schemaType?: string }
      expect(JSON.parse(body.schema)).toEqual(v1)
      expect(body.schemaType).toBe('JSON')
    }
  })

  test('the same schema with other whitespace and key order is the same id and version', async () => {
    const reformatted = JSON.stringify(
      {
        additionalProperties: false,
        required: v1.required,
        properties: v1.properties,
        type: v1.type,
        $schema: v1.$schema,
      },
      null,
      4,
    )
    const reader = instances[2] as string
    await waitFor(`${subject} on ${reader}`, async () =>
      (await call(`${reader}/subjects/${subject}/versions`)).status === 200 ? true : undefined,
    )
    expect(
      idOf(
        await post(`${reader}/subjects/${subject}/versions`, jsonSchema(reformatted)),
        'register reformatted v1',
      ),
    ).toBe(firstId)
    const lookup = await post(`${reader}/subjects/${subject}`, jsonSchema(reformatted))
    expectAnswer(lookup, 200, 'look up reformatted v1')
    expect(lookup.body).toMatchObject({ subject, version: 1, id: firstId })
    const versions = await call(`${instances[0]}/subjects/${subject}/versions`)
    expect(versions.body).toEqual([1])
  })

  test('a change that breaks BACKWARD is refused with 409', async () => {
    const check = await post(
      `${instances[1]}/compatibility/subjects/${subject}/versions/latest`,
      jsonSchema(JSON.stringify(breaking)),
    )
    expectAnswer(check, 200, 'compatibility check')
    expect(check.body).toMatchObject({ is_compatible: false })

    const answer = await post(
      `${instances[1]}/subjects/${subject}/versions`,
      jsonSchema(JSON.stringify(breaking)),
    )
    expectAnswer(answer, 409, 'register a breaking change')
    expect(answer.body).toMatchObject({ error_code: 409 })
  })

  test('a BACKWARD-compatible change becomes version 2, seen by every instance', async () => {
    const id = idOf(
      await post(`${instances[1]}/subjects/${subject}/versions`, jsonSchema(JSON.stringify(v2))),
      'register v2',
    )
    expect(id).not.toBe(firstId)
    for (const base of instances) {
      const latest = await waitFor(`version 2 of ${subject} on ${base}`, async () => {
        const got = await call(`${base}/subjects/${subject}/versions/latest`)
        return got.status === 200 && (got.body as { version?: number }).version === 2 ? got : undefined
      })
      expect(latest.body).toMatchObject({ subject, version: 2, id })
    }
  })

  test('GET /config/{subject} answers with the global level, where Confluent answers 40408', async () => {
    // Pinned here, because clients that compare levels refuse to register otherwise: a subject without its own level gets the global one back
    // (Confluent's registry says 404/40408 unless ?defaultToGlobal=true). Clients must not
    // read this as "the subject has its own level".
    for (const path of [`/config/${subject}`, `/config/${subject}?defaultToGlobal=true`]) {
      const answer = await call(`${instances[0]}${path}`)
      expectAnswer(answer, 200, `GET ${path}`)
      expect(answer.body).toEqual({ compatibilityLevel: 'BACKWARD' })
    }
  })
})
