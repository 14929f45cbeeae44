/**
 * The documentation pages in a real browser with no way out of the machine: both services' API
 * references (`/docs`) and the AsyncAPI page (`/asyncapi`) must render, show every operation or channel
 * by name, log no console error and request nothing but loopback.
 *
 * vehicles-stock runs as its real process on its embedded PGlite; vehicles-ads is its HTTP app on a
 * port with an empty ad source (the pages do not depend on data, and the full service needs Kafka and a
 * database). Screenshots go to `test-output/browser/` (or `$TEST_OUTPUT_DIR/browser/`); with
 * `DOCS_SCREENSHOTS=1` they are also copied to docs/screenshots/.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Browser } from 'puppeteer-core'
import { createAdsApp } from '../../packages/ads/src/app'
import { createLogger } from '../../packages/platform/src'
import { type StockProcess, startStock } from '../../packages/stock/src/testing/stock-process'
import { launchOffline, offlinePage, waitForTexts } from './browser'

const repoRoot = resolve(import.meta.dir, '..', '..')
const outputDir = join(process.env.TEST_OUTPUT_DIR ?? join(repoRoot, 'test-output'), 'browser')
const docsDir = join(repoRoot, 'docs', 'screenshots')

const dataDir = mkdtempSync(join(tmpdir(), 'docs-pages-'))
let browser: Browser | undefined
let stock: StockProcess | undefined
let adsServer: ReturnType<typeof Bun.serve> | undefined
const urls = { stock: '', ads: '' }

beforeAll(async () => {
  mkdirSync(outputDir, { recursive: true })
  const started = Promise.all([launchOffline(), startStock({ PGLITE_DIR: join(dataDir, 'pglite') })])
  const ads = createAdsApp({
    logger: createLogger({ service: 'vehicles-ads', level: 'error' }),
    reader: { list: async () => ({ items: [], nextCursor: null }), findById: async () => null },
  })
  adsServer = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    reusePort: false,
    fetch: (request) => ads.handle(request),
  })
  urls.ads = `http://127.0.0.1:${adsServer.port}`
  ;[browser, stock] = await started
  urls.stock = stock.url
}, 90_000)

afterAll(async () => {
  await browser?.close()
  await stock?.stop('SIGTERM')
  adsServer?.stop(true)
  rmSync(dataDir, { recursive: true, force: true })
})

interface OpenApi {
  paths: Record<string, Record<string, { summary?: string }>>
}

/** Every operation's summary, as the API reference shows it. */
async function operationNames(baseUrl: string): Promise<string[]> {
  const doc = (await (await fetch(`${baseUrl}/openapi/json`)).json()) as OpenApi
  const names = Object.values(doc.paths).flatMap((methods) => Object.values(methods).map((op) => op.summary))
  expect(names.every((name) => typeof name === 'string' && name.length > 0)).toBe(true)
  return names as string[]
}

interface AsyncApi {
  channels: Record<string, { address: string }>
  operations: Record<string, unknown>
}

/** Renders one page offline, checks it, and keeps a screenshot. */
async function checkPage(url: string, expected: readonly string[], screenshot: string) {
  if (browser === undefined) throw new Error('browser did not start')
  const visit = await offlinePage(browser)
  try {
    await visit.page.goto(url, { waitUntil: 'networkidle0', timeout: 30_000 })
    await waitForTexts(visit.page, expected)
    const file = join(outputDir, screenshot)
    await visit.page.screenshot({ path: file })
    // A blank page compresses to a few kilobytes; a rendered one does not.
    expect(statSync(file).size).toBeGreaterThan(30_000)
    if (process.env.DOCS_SCREENSHOTS === '1') {
      mkdirSync(docsDir, { recursive: true })
      copyFileSync(file, join(docsDir, screenshot))
    }
    // Listed in full on failure: what was tried outside, and every error the page met.
    expect({ url, outside: visit.outside, problems: visit.problems }).toEqual({
      url,
      outside: [],
      problems: [],
    })
    expect(visit.requested.length).toBeGreaterThan(1)
  } finally {
    await visit.page.close()
  }
}

describe('documentation pages, offline, in headless Chromium', () => {
  test('vehicles-stock API reference shows every operation', async () => {
    const names = await operationNames(urls.stock)
    expect(names).toContain('Add a vehicle to the stock')
    await checkPage(`${urls.stock}/docs`, [...names, 'Events (AsyncAPI)'], 'stock-api-reference.png')
  }, 60_000)

  test('vehicles-ads API reference shows every operation', async () => {
    const names = await operationNames(urls.ads)
    await checkPage(`${urls.ads}/docs`, [...names, 'Events (AsyncAPI)'], 'ads-api-reference.png')
  }, 60_000)

  test('AsyncAPI page shows every channel and operation', async () => {
    const doc = (await (await fetch(`${urls.stock}/asyncapi/json`)).json()) as AsyncApi
    const channels = Object.values(doc.channels).map((channel) => channel.address)
    // The component names an operation by its id (and its channel by address).
    const operations = Object.keys(doc.operations)
    expect(channels).toHaveLength(4)
    expect(operations).toHaveLength(6)
    await checkPage(`${urls.stock}/asyncapi`, [...channels, ...operations], 'asyncapi.png')
  }, 60_000)

  test('/openapi redirects to the reference, and the JSON documents stay where they were', async () => {
    const redirect = await fetch(`${urls.stock}/openapi`, { redirect: 'manual' })
    expect([redirect.status, redirect.headers.get('location')]).toEqual([308, '/docs'])
    for (const base of [urls.stock, urls.ads]) {
      for (const path of ['/openapi/json', '/asyncapi/json']) {
        const response = await fetch(`${base}${path}`)
        expect({ path, status: response.status }).toEqual({ path, status: 200 })
      }
    }
  })
})
