/**
 * Headless Chromium (Debian's `chromium`, driven by the pinned puppeteer-core) that can reach loopback
 * only: host names other than 127.0.0.1 do not resolve (Chromium's own host resolver rules, which also
 * cover the browser's background traffic), and every page request to another host is aborted and
 * recorded, so a test can fail on any attempt to leave the machine.
 */
import { existsSync } from 'node:fs'
import puppeteer, { type Browser, type Page } from 'puppeteer-core'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]'])

export async function launchOffline(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install Debian's chromium (scripts/bootstrap.sh does) or set CHROMIUM_PATH`,
    )
  }
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      // CI runs as root, where Chromium's sandbox cannot start.
      '--no-sandbox',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-default-apps',
      '--disable-sync',
      '--no-first-run',
      '--disable-gpu',
      '--disable-dev-shm-usage',
    ],
  })
}

export interface PageVisit {
  page: Page
  /** Requests to anything but loopback, aborted. */
  outside: string[]
  /** Console errors, uncaught exceptions, failed requests and error responses. */
  problems: string[]
  /** Every URL requested. */
  requested: string[]
}

/** A new tab that aborts and records every non-loopback request and collects every error it sees. */
export async function offlinePage(browser: Browser): Promise<PageVisit> {
  const page = await browser.newPage()
  await page.setViewport({ width: 1600, height: 1000 })
  const visit: PageVisit = { page, outside: [], problems: [], requested: [] }
  await page.setRequestInterception(true)
  page.on('request', (request) => {
    const url = request.url()
    visit.requested.push(url)
    const { protocol, host, hostname } = new URL(url)
    const local =
      protocol === 'data:' || protocol === 'blob:' || LOOPBACK_HOSTS.has(hostname) || LOOPBACK_HOSTS.has(host)
    if (local) void request.continue()
    else {
      visit.outside.push(url)
      void request.abort('blockedbyclient')
    }
  })
  page.on('console', (message) => {
    if (message.type() === 'error') visit.problems.push(`console error: ${message.text()}`)
  })
  page.on('pageerror', (error) => visit.problems.push(`uncaught: ${String(error)}`))
  page.on('requestfailed', (request) =>
    visit.problems.push(`request failed: ${request.url()} (${request.failure()?.errorText ?? 'unknown'})`),
  )
  page.on('response', (response) => {
    if (response.status() >= 400) visit.problems.push(`HTTP ${response.status()}: ${response.url()}`)
  })
  return visit
}

/** The page's visible text. */
export async function visibleText(page: Page): Promise<string> {
  return String(await page.evaluate('document.body.innerText'))
}

/** Waits until the page's text contains every string, or fails naming the missing ones. */
export async function waitForTexts(page: Page, texts: readonly string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let missing: string[] = [...texts]
  while (Date.now() < deadline) {
    const text = await visibleText(page)
    missing = texts.filter((wanted) => !text.includes(wanted))
    if (missing.length === 0) return
    await Bun.sleep(200)
  }
  const text = await visibleText(page)
  throw new Error(
    `after ${timeoutMs} ms the page still lacks ${JSON.stringify(missing)}; it shows:\n${text.slice(0, 2000)}`,
  )
}
