import { afterAll, describe, expect, test } from 'bun:test'
import { RegistryRefusedError, RegistryUnavailableError } from './errors'
import { startFakeRegistry } from './fake-registry'
import { RegistryClient } from './registry-client'

const fake = startFakeRegistry()
afterAll(() => fake.stop())

const fast = { attempts: 3, initialDelayMs: 10, maxDelayMs: 40, timeoutMs: 1000 }

describe('registry client', () => {
  test('an HTML error page from the balancer is retried, then reported as RegistryUnavailableError', async () => {
    fake.mode = 'html-502'
    const retries: string[] = []
    const client = new RegistryClient({
      url: fake.url,
      retry: fast,
      onRetry: ({ error }) => retries.push(error.message),
    })
    const error = await client.subjects().catch((e: unknown) => e)
    fake.mode = 'ok'
    expect(error).toBeInstanceOf(RegistryUnavailableError)
    expect((error as RegistryUnavailableError).attempts).toBe(3)
    expect((error as Error).message).toContain('HTTP 502')
    expect((error as Error).message).toContain('502 Bad Gateway')
    expect(retries).toHaveLength(2)
  })

  test('HTML with status 200 (a wrong URL, a captive page) is not taken for an answer', async () => {
    fake.mode = 'html-200'
    const client = new RegistryClient({ url: fake.url, retry: fast })
    const error = await client.subjects().catch((e: unknown) => e)
    fake.mode = 'ok'
    expect(error).toBeInstanceOf(RegistryUnavailableError)
    expect((error as Error).message).toContain('text/html')
    expect((error as Error).message).toContain('expected JSON')
  })

  test('a registry that comes back during the retries is used', async () => {
    fake.mode = 'html-502'
    const client = new RegistryClient({
      url: fake.url,
      retry: { ...fast, attempts: 5 },
      onRetry: ({ attempt }) => {
        if (attempt === 2) fake.mode = 'ok'
      },
    })
    expect(await client.subjects()).toBeArray()
  })

  test('a refused connection is RegistryUnavailableError, after bounded retries', async () => {
    const closed = Bun.serve({ port: 0, fetch: () => new Response('') })
    const url = `http://127.0.0.1:${closed.port}/api`
    closed.stop(true)
    const started = performance.now()
    const error = await new RegistryClient({ url, retry: fast }).subjects().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RegistryUnavailableError)
    expect((error as Error).message).toContain('network error')
    expect(performance.now() - started).toBeLessThan(2000)
  })

  test('a JSON 4xx is a refusal with status and Confluent error code, not retried', async () => {
    const before = fake.requests.length
    const client = new RegistryClient({ url: fake.url, retry: fast })
    const refused = await client.schemaById(12345)
    const error = await client.request('GET', '/nowhere').catch((e: unknown) => e)
    expect(refused).toBeNull()
    expect(error).toBeInstanceOf(RegistryRefusedError)
    expect((error as RegistryRefusedError).status).toBe(404)
    expect((error as RegistryRefusedError).errorCode).toBe(404)
    expect(fake.requests.length - before).toBe(2)
  })

  test('lookup answers null for a missing subject or schema, the id otherwise', async () => {
    const client = new RegistryClient({ url: fake.url, retry: fast })
    expect(await client.lookup('lookup-subject', '{"a":1}')).toBeNull()
    const id = await client.register('lookup-subject', '{"a":1}')
    expect(await client.lookup('lookup-subject', '{"a":1}')).toEqual({
      subject: 'lookup-subject',
      id,
      version: 1,
    })
    expect(await client.lookup('lookup-subject', '{"a":2}')).toBeNull()
    expect(await client.schemaById(id)).toBe('{"a":1}')
    expect(await client.schemaById(9999)).toBeNull()
  })
})
