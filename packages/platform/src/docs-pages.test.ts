import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { ASYNCAPI_DOCUMENT_PATH } from '@vehicles/contracts'
import { createHttpApp } from './http-app'
import { createLogger } from './logger'

const app = createHttpApp({
  service: 'test-svc',
  logger: createLogger({ service: 'test-svc', level: 'error' }),
})
const get = (path: string) => app.handle(new Request(`http://localhost${path}`))

/** Every `src` and `href` attribute of an HTML page. */
const references = (html: string): string[] =>
  [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((match) => match[1] ?? '')

describe('documentation pages', () => {
  test.each(['/docs', '/asyncapi'])('%s is HTML that references only paths of this service', async (path) => {
    const response = await get(path)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8')
    const html = await response.text()
    const refs = references(html)
    expect(refs.length).toBeGreaterThan(2)
    for (const ref of refs)
      expect({ ref, local: ref.startsWith('/') || ref === 'data:,' }).toEqual({ ref, local: true })
    expect(html).not.toMatch(/https?:\/\//)
    // Each page links the other, so the API reference leads to the topics and back.
    expect(refs).toContain(path === '/docs' ? '/asyncapi' : '/docs')
  })

  test('the API reference turns off what Scalar would fetch from its servers', async () => {
    const html = await (await get('/docs')).text()
    expect(html).toContain('"withDefaultFonts":false')
    expect(html).toContain('"telemetry":false')
    expect(html).toContain('"agent":{"disabled":true}')
    expect(html).toContain('"url":"/openapi/json"')
  })

  test.each([
    ['/docs/assets/scalar.js', 'text/javascript; charset=utf-8', 'createApiReference'],
    ['/asyncapi/assets/asyncapi.js', 'text/javascript; charset=utf-8', 'AsyncApiStandalone'],
    ['/asyncapi/assets/asyncapi.css', 'text/css; charset=utf-8', '.aui-root'],
  ])('%s is served from the pinned package', async (path, type, marker) => {
    const response = await get(path)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe(type)
    expect(await response.text()).toContain(marker)
  })

  test('/asyncapi/json is the committed AsyncAPI document', async () => {
    const response = await get('/asyncapi/json')
    expect(response.status).toBe(200)
    expect(await response.text()).toBe(readFileSync(ASYNCAPI_DOCUMENT_PATH, 'utf8'))
  })

  test('an unknown asset is a 404 in the one error shape, not a file read', async () => {
    const response = await get('/docs/assets/..%2f..%2fpackage.json')
    expect(response.status).toBe(404)
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('not_found')
  })

  test('the documentation routes stay out of the OpenAPI document', async () => {
    const doc = (await (await get('/openapi/json')).json()) as { paths: Record<string, unknown> }
    for (const path of Object.keys(doc.paths)) expect(path).not.toMatch(/^\/(docs|asyncapi|openapi)/)
  })
})
