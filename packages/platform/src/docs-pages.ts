/**
 * The documentation pages every service serves, with nothing fetched from outside the machine:
 *
 * - `/docs`: the API reference (Scalar), reading this service's `/openapi/json`;
 * - `/asyncapi`: the system's topics (AsyncAPI React component), reading `/asyncapi/json`, the document
 *   generated in the contracts package. Every service serves it, so each API reference can link to it
 *   with a relative URL whatever host and port the service runs on;
 * - `/openapi`: a permanent redirect to `/docs`, where the page used to be.
 *
 * The renderers come from pinned npm packages and are served from `node_modules` under `/docs/assets/`
 * and `/asyncapi/assets/`: a version bump is a lockfile change, and a browser with no internet access
 * renders the pages. Scalar's defaults that reach the internet (web fonts, telemetry, its AI agent) are
 * switched off below; the browser test blocks every non-loopback request and fails on any attempt.
 */
import { dirname, join } from 'node:path'
import { ASYNCAPI_DOCUMENT_PATH } from '@vehicles/contracts'
import { Elysia } from 'elysia'

/** A package's directory, found through its main entry: neither package exports its browser bundle. */
const packageDir = (name: string, mainDepth: number): string => {
  let dir = dirname(Bun.resolveSync(name, import.meta.dir))
  for (let i = 0; i < mainDepth; i++) dir = dirname(dir)
  return dir
}
// @scalar/api-reference's main is dist/index.js; @asyncapi/react-component's is lib/cjs/index.js.
const scalarDir = packageDir('@scalar/api-reference', 1)
const asyncApiDir = packageDir('@asyncapi/react-component', 2)

/** Files served, by URL path. Fixed: no path from the request ever reaches the file system. */
const ASSETS: Record<string, { file: string; type: string }> = {
  '/docs/assets/scalar.js': {
    file: join(scalarDir, 'dist', 'browser', 'standalone.js'),
    type: 'text/javascript; charset=utf-8',
  },
  '/asyncapi/assets/asyncapi.js': {
    file: join(asyncApiDir, 'browser', 'standalone', 'index.js'),
    type: 'text/javascript; charset=utf-8',
  },
  '/asyncapi/assets/asyncapi.css': {
    file: join(asyncApiDir, 'styles', 'default.min.css'),
    type: 'text/css; charset=utf-8',
  },
}

/** Scalar's configuration: every feature that would call a scalar.com service is off. */
const SCALAR_CONFIG = {
  url: '/openapi/json',
  withDefaultFonts: false,
  telemetry: false,
  agent: { disabled: true },
  showDeveloperTools: 'never',
  documentDownloadType: 'json',
  // A handful of operations: all of them visible at once, none hidden in a collapsed group.
  defaultOpenAllTags: true,
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
/** JSON placed inside a `<script>`: `<` escaped, so no value can close the element. */
const scriptJson = (value: unknown): string => JSON.stringify(value).replace(/</g, '\\u003c')

const NAV_STYLE = `
  :root { --scalar-custom-header-height: 2.5rem; }
  .docs-nav { position: sticky; top: 0; z-index: 100; height: 2.5rem; box-sizing: border-box;
    display: flex; gap: 1.5rem; align-items: center; padding: 0 1rem; background: #1f2937;
    font: 14px system-ui, sans-serif; }
  .docs-nav a { color: #f9fafb; text-decoration: none; }
  .docs-nav a[aria-current] { font-weight: 600; text-decoration: underline; }
  body { margin: 0; }`

function nav(service: string, current: 'docs' | 'asyncapi'): string {
  const link = (href: string, page: typeof current, text: string) =>
    `<a href="${href}"${page === current ? ' aria-current="page"' : ''}>${text}</a>`
  return `<nav class="docs-nav">
    ${link('/docs', 'docs', `${escapeHtml(service)} HTTP API`)}
    ${link('/asyncapi', 'asyncapi', 'Events (AsyncAPI)')}
    <a href="/openapi/json">OpenAPI JSON</a>
    <a href="/asyncapi/json">AsyncAPI JSON</a>
  </nav>`
}

function page(title: string, head: string, body: string): Response {
  const html = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${escapeHtml(title)}</title>
  <link rel="icon" href="data:,">
  <style>${NAV_STYLE}</style>
  ${head}
</head>
<body>
${body}
</body>
</html>
`
  return new Response(html, { headers: { 'content-type': 'text/html; charset=utf-8' } })
}

export interface DocsPagesOptions {
  /** The service's name, shown in the pages' titles. */
  service: string
}

/** The documentation routes; hidden from the OpenAPI document, which describes the service's API only. */
export function docsPages({ service }: DocsPagesOptions) {
  const hidden = { detail: { hide: true } }
  const app = new Elysia({ name: 'vehicles-docs-pages' })
    .get('/openapi', ({ redirect }) => redirect('/docs', 308), hidden)
    .get(
      '/docs',
      () =>
        page(
          `${service}: API reference`,
          '',
          // Not `id="api-reference"`: the bundle mounts itself on that id at load with its default
          // configuration (web fonts included), ahead of the configured call below.
          `${nav(service, 'docs')}
<div id="reference"></div>
<script src="/docs/assets/scalar.js"></script>
<script>Scalar.createApiReference('#reference', ${scriptJson(SCALAR_CONFIG)})</script>`,
        ),
      hidden,
    )
    .get(
      '/asyncapi',
      () =>
        page(
          'vehicles: events (AsyncAPI)',
          '<link rel="stylesheet" href="/asyncapi/assets/asyncapi.css">',
          `${nav(service, 'asyncapi')}
<div id="asyncapi"></div>
<script src="/asyncapi/assets/asyncapi.js"></script>
<script>AsyncApiStandalone.render(${scriptJson({
            schema: { url: '/asyncapi/json' },
            config: { show: { sidebar: true, errors: true } },
          })}, document.getElementById('asyncapi'))</script>`,
        ),
      hidden,
    )
    .get(
      '/asyncapi/json',
      () =>
        new Response(Bun.file(ASYNCAPI_DOCUMENT_PATH), {
          headers: { 'content-type': 'application/json; charset=utf-8' },
        }),
      hidden,
    )
  for (const [path, asset] of Object.entries(ASSETS)) {
    app.get(
      path,
      () =>
        new Response(Bun.file(asset.file), {
          // The URL does not change with the version, so browsers revalidate instead of caching for long.
          headers: { 'content-type': asset.type, 'cache-control': 'public, max-age=300' },
        }),
      hidden,
    )
  }
  return app
}
