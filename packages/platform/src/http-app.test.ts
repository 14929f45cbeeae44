import { expect, test } from 'bun:test'
import { Type } from '@sinclair/typebox'
import type { ErrorBody } from '@vehicles/contracts'
import { Elysia, t } from 'elysia'
import { routeDocs } from './docs'
import { ConflictError, ServiceUnavailableError } from './errors'
import { createReadiness } from './health'
import { createHttpApp } from './http-app'
import { createLogger } from './logger'
import { createMetrics } from './metrics'

const lines: string[] = []
const readiness = createReadiness()
let dbUp = true
readiness.register({ name: 'db', check: () => (dbUp ? { ok: true } : { ok: false, error: 'down' }) })

// Feature routes live in their own Elysia instance, as services write them.
const feature = new Elysia({ name: 'feature' })
  .post('/echo', ({ body }) => ({ got: body }), {
    detail: routeDocs({
      summary: 'echo',
      body: Type.Object({ a: Type.Integer() }),
      responses: { 200: 'ok' },
    }),
  })
  .post('/typed', ({ body }) => body, { body: t.Object({ name: t.String({ minLength: 2 }) }) })
  .get('/boom', () => {
    throw new Error('password=hunter2 at db.internal:5432')
  })
  .get('/conflict', () => {
    throw new ConflictError('already there', [{ field: 'vin', rule: 'unique', message: 'taken' }])
  })
  .get('/busy', () => {
    throw new ServiceUnavailableError('database away', 7)
  })
  .get('/items/:id', ({ params }) => params)

const app = createHttpApp({
  service: 'test-svc',
  logger: createLogger({ service: 'test-svc', level: 'debug', write: (l) => lines.push(l) }),
  readiness,
  metrics: createMetrics({ service: 'test-svc', processMetrics: false }),
  bodyLimitBytes: 100,
}).use(feature)

const call = async (path: string, init?: RequestInit) => {
  const response = await app.handle(new Request(`http://localhost${path}`, init))
  const text = await response.text()
  const json = response.headers.get('content-type')?.includes('json')
    ? (JSON.parse(text) as unknown)
    : undefined
  return { response, status: response.status, text, json, error: (json as ErrorBody | undefined)?.error }
}
const postJson = (path: string, body: string, headers: Record<string, string> = {}) =>
  call(path, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } })

test('a JSON body reaches the route; the request id is generated and echoed', async () => {
  const { status, json, response } = await postJson('/echo', '{"a":1}')
  expect(status).toBe(200)
  expect(json).toEqual({ got: { a: 1 } })
  expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
})

test("a client's X-Request-Id is kept when plain, replaced when not", async () => {
  const kept = await call('/items/1', { headers: { 'x-request-id': 'abc-123' } })
  expect(kept.response.headers.get('x-request-id')).toBe('abc-123')
  const replaced = await call('/items/1', { headers: { 'x-request-id': 'bad id\twith tab' } })
  expect(replaced.response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
})

test('malformed JSON: 400 with rule malformed_json and the request id in the body', async () => {
  const { status, error, response } = await postJson('/echo', '{"a":')
  expect(status).toBe(400)
  expect(error?.code).toBe('validation_failed')
  expect(error?.details?.[0]?.rule).toBe('malformed_json')
  expect(error?.requestId).toBe(response.headers.get('x-request-id') ?? 'missing')
})

test('not JSON: 415; missing content type with a body: 415', async () => {
  const plain = await call('/echo', {
    method: 'POST',
    body: 'a=1',
    headers: { 'content-type': 'text/plain' },
  })
  expect(plain.status).toBe(415)
  expect(plain.error?.code).toBe('unsupported_media_type')
  const none = await call('/echo', { method: 'POST', body: new Blob(['{"a":1}']) })
  expect(none.status).toBe(415)
})

test('over the limit: 413, whether declared or streamed without a length', async () => {
  const declared = await postJson('/echo', JSON.stringify({ a: 1, pad: 'x'.repeat(200) }))
  expect(declared.status).toBe(413)
  expect(declared.error?.code).toBe('payload_too_large')
  const stream = new ReadableStream({
    start(controller) {
      for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode('"xxxxxxxxxxxxxxxxxxxx",'))
      controller.close()
    },
  })
  const streamed = await call('/echo', {
    method: 'POST',
    body: stream,
    headers: { 'content-type': 'application/json' },
  })
  expect(streamed.status).toBe(413)
})

test("Elysia's own validation: 400 listing each field and rule", async () => {
  const { status, error } = await postJson('/typed', '{"name":"x","extra":1}')
  expect(status).toBe(400)
  expect(error?.code).toBe('validation_failed')
  expect(error?.details).toEqual(
    expect.arrayContaining([expect.objectContaining({ field: 'name', rule: 'minLength' })]),
  )
})

test('error classes render their status, code, details and headers', async () => {
  const conflict = await call('/conflict')
  expect(conflict.status).toBe(409)
  expect(conflict.error).toMatchObject({ code: 'conflict', details: [{ field: 'vin', rule: 'unique' }] })
  const busy = await call('/busy')
  expect(busy.status).toBe(503)
  expect(busy.response.headers.get('retry-after')).toBe('7')
  expect(busy.error?.code).toBe('service_unavailable')
})

test('an unexpected error: 500 internal, nothing of it in the body, all of it in the log', async () => {
  const { status, text, error } = await call('/boom')
  expect(status).toBe(500)
  expect(error?.code).toBe('internal')
  expect(text).not.toContain('hunter2')
  expect(lines.some((l) => l.includes('http.unhandled') && l.includes('hunter2'))).toBe(true)
})

test('unknown route: 404 JSON naming method and path', async () => {
  const { status, error } = await call('/nowhere?x=1')
  expect(status).toBe(404)
  expect(error?.message).toBe('no route for GET /nowhere')
})

test('a known path with an undeclared method: 405, Allow listing the methods, the common error body', async () => {
  const response = await app.handle(new Request('http://local/items/7', { method: 'DELETE' }))
  expect(response.status).toBe(405)
  expect(response.headers.get('allow')).toBe('GET')
  const body = (await response.json()) as ErrorBody
  expect(body.error.code).toBe('method_not_allowed')
  expect(body.error.message).toBe('DELETE is not allowed on /items/7; allowed: GET')
  const echo = await app.handle(new Request('http://local/echo', { method: 'TRACE' }))
  expect([echo.status, echo.headers.get('allow')]).toEqual([405, 'POST'])
})

test('/health/live and /health/ready (503 naming the failed check)', async () => {
  expect((await call('/health/live')).json).toEqual({ status: 'live' })
  expect((await call('/health/ready')).status).toBe(200)
  dbUp = false
  const down = await call('/health/ready')
  dbUp = true
  expect(down.status).toBe(503)
  expect(down.json).toMatchObject({ status: 'not_ready', checks: { db: { ok: false, error: 'down' } } })
})

test('access log and metrics: one line per request with status and duration; counts by route pattern', async () => {
  await call('/items/42', { headers: { 'x-request-id': 'log-me' } })
  await Bun.sleep(5)
  const line = lines
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.requestId === 'log-me')
  expect(line).toMatchObject({ event: 'http.request', status: 200, route: '/items/:id', path: '/items/42' })
  expect(typeof line?.durationMs).toBe('number')
  const metrics = await call('/metrics')
  expect(metrics.response.headers.get('content-type')).toContain('text/plain')
  expect(metrics.text).toMatch(
    /http_requests_total\{method="GET",route="\/items\/:id",status="200"[^}]*\} \d+/,
  )
  expect(metrics.text).toContain('http_request_duration_seconds_bucket')
})

test('OpenAPI: document at /openapi/json with route docs, page at /docs (/openapi redirects there)', async () => {
  const doc = (await call('/openapi/json')).json as {
    info: { title: string }
    paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: unknown }> } }>>
  }
  expect(doc.info.title).toBe('test-svc')
  expect(doc.paths['/echo']?.post?.requestBody?.content['application/json']?.schema).toMatchObject({
    type: 'object',
    properties: { a: { type: 'integer' } },
  })
  const moved = await call('/openapi')
  expect([moved.status, moved.response.headers.get('location')]).toEqual([308, '/docs'])
  const page = await call('/docs')
  expect(page.status).toBe(200)
  expect(page.response.headers.get('content-type')).toContain('text/html')
})
