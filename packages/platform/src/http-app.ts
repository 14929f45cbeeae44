/**
 * `createHttpApp`: the Elysia root every Bun service of the system starts from. It installs, once:
 * request ids, the access log, HTTP metrics, JSON body handling (415/413/400), one `onError` that renders
 * every failure as the contracts' `ErrorBody`, `/health/live`, `/health/ready`, `/metrics` and the
 * OpenAPI document (`/openapi`, `/openapi/json`). A service adds its feature routes with `.use(...)`.
 */
import { openapi } from '@elysiajs/openapi'
import { type Context, type DocumentDecoration, Elysia } from 'elysia'
import { allowedMethods, type RouteEntry } from './allowed-methods'
import { checkBodyHeaders, readJsonBody } from './body'
import { docsPages } from './docs-pages'
import { errorBody, HttpError, MalformedJsonError, NotFoundError } from './errors'
import { createReadiness, type Readiness } from './health'
import type { Logger } from './logger'
import { createMetrics, type HttpMetrics } from './metrics'
import { type TypeBoxError, typeboxDetails } from './validation'

export interface HttpAppOptions {
  service: string
  version?: string
  description?: string
  logger: Logger
  /** Largest accepted JSON body; default 16 KiB. */
  bodyLimitBytes?: number
  readiness?: Readiness
  metrics?: HttpMetrics
}

interface RequestInfo {
  id: string
  started: number
}

/** A client's id is echoed only if it is short and plain, so it cannot inject into logs or headers. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** Paths probed every few seconds: their access log lines are debug, not info. */
const QUIET = new Set(['/health/live', '/health/ready', '/metrics'])

/** OpenAPI documentation of the operations routes, so API fuzzers can check their answers too. */
const jsonResponse = (description: string, schema: Record<string, unknown>) => ({
  description,
  content: { 'application/json': { schema } },
})
const LIVE_BODY = {
  type: 'object',
  properties: { status: { type: 'string', enum: ['live'] } },
  required: ['status'],
}
const READY_BODY = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ready', 'degraded', 'not_ready'] },
    shuttingDown: { type: 'boolean' },
    checks: { type: 'object', additionalProperties: { type: 'object' } },
  },
  required: ['status', 'checks'],
}

const pathOf = (url: string) => {
  const start = url.indexOf('/', url.indexOf('//') + 2)
  const query = url.indexOf('?', start)
  return query === -1 ? url.slice(start) : url.slice(start, query)
}

/** The route documentation of the operations endpoints, kept apart so the app's wiring reads in one screen. */
const LIVE_DETAIL: DocumentDecoration = {
  tags: ['operations'],
  summary: 'The process runs',
  responses: { 200: jsonResponse('the process runs', LIVE_BODY) },
}
const READY_DETAIL: DocumentDecoration = {
  tags: ['operations'],
  summary: 'Dependencies answer (503 naming what failed)',
  responses: {
    200: jsonResponse('ready, or degraded (a non-critical dependency is away)', READY_BODY),
    503: jsonResponse('not ready: a critical dependency is away, or shutting down', READY_BODY),
  },
}
const METRICS_DETAIL: DocumentDecoration = {
  tags: ['operations'],
  summary: 'Prometheus metrics',
  responses: {
    200: {
      description: 'Prometheus text exposition',
      content: { 'text/plain': { schema: { type: 'string' } } },
    },
  },
}

type ResponseSet = Context['set']

/**
 * Request ids and start times, keyed by the Request object: available from the first hook to the error
 * handler and the access log, even when parsing failed before Elysia's derived context existed.
 */
function createRequestRegistry() {
  const requests = new WeakMap<Request, RequestInfo>()
  const infoOf = (request: Request): RequestInfo => {
    let info = requests.get(request)
    if (info === undefined) {
      info = { id: crypto.randomUUID(), started: performance.now() }
      requests.set(request, info)
    }
    return info
  }
  const start = (request: Request): RequestInfo => {
    const given = request.headers.get('x-request-id')
    const info = {
      id: given !== null && REQUEST_ID.test(given) ? given : crypto.randomUUID(),
      started: performance.now(),
    }
    requests.set(request, info)
    return info
  }
  return { infoOf, start }
}

function renderHttpError(error: HttpError, set: ResponseSet, requestId: string) {
  set.status = error.status
  if (error.headers !== undefined) Object.assign(set.headers, error.headers)
  return errorBody(error.code, error.message, requestId, error.details)
}

function renderMalformedJson(thrown: Error, set: ResponseSet, requestId: string) {
  const cause = thrown.cause instanceof Error ? thrown.cause.message : thrown.message
  const malformed = new MalformedJsonError(cause)
  set.status = malformed.status
  return errorBody(malformed.code, malformed.message, requestId, malformed.details)
}

/** An unmatched request is a 405 naming the allowed methods when the path exists, else a 404. */
function renderNoRoute(request: Request, routes: readonly RouteEntry[], set: ResponseSet, requestId: string) {
  const path = pathOf(request.url)
  const allow = allowedMethods(routes, path)
  if (allow.length > 0) {
    set.status = 405
    set.headers.allow = allow.join(', ')
    return errorBody(
      'method_not_allowed',
      `${request.method} is not allowed on ${path}; allowed: ${allow.join(', ')}`,
      requestId,
    )
  }
  const notFound = new NotFoundError(`no route for ${request.method} ${pathOf(request.url)}`)
  set.status = 404
  return errorBody(notFound.code, notFound.message, requestId)
}

function renderUnhandled(
  logger: Logger,
  request: Request,
  code: string | number,
  error: unknown,
  set: ResponseSet,
  requestId: string,
) {
  // Internals go to the log only; the client gets the request id to quote.
  logger.error('http.unhandled', 'unhandled error', {
    requestId,
    method: request.method,
    path: pathOf(request.url),
    code,
    error: error instanceof Error ? error.message : String(error),
    stack: error instanceof Error ? error.stack : undefined,
  })
  set.status = 500
  return errorBody('internal', 'internal error', requestId)
}

function logAccess(
  logger: Logger,
  metrics: HttpMetrics,
  request: Request,
  info: RequestInfo,
  status: number,
  route: string,
) {
  const seconds = (performance.now() - info.started) / 1000
  const pattern = route || 'unmatched'
  metrics.observe(request.method, pattern, status, seconds)
  const path = pathOf(request.url)
  const level = QUIET.has(path) ? 'debug' : 'info'
  if (logger.enabled(level)) {
    logger[level]('http.request', `${request.method} ${path} ${status}`, {
      requestId: info.id,
      method: request.method,
      path,
      route: pattern,
      status,
      durationMs: Math.round(seconds * 100_000) / 100,
    })
  }
}

function openapiDocument(options: HttpAppOptions) {
  return openapi({
    path: '/openapi',
    specPath: '/openapi/json',
    // The page is docs-pages' `/docs`, served from pinned local files; this plugin's would load a CDN.
    provider: null,
    documentation: {
      info: {
        title: options.service,
        version: options.version ?? '0.1.0',
        description: options.description ?? '',
      },
    },
    exclude: { paths: ['/openapi', '/openapi/json'] },
  })
}

export function createHttpApp(options: HttpAppOptions) {
  const { logger } = options
  const limit = options.bodyLimitBytes ?? 16 * 1024
  const readiness = options.readiness ?? createReadiness()
  const metrics = options.metrics ?? createMetrics({ service: options.service })
  const { infoOf, start } = createRequestRegistry()

  // Filled in once the app exists: the error handler needs the routes the services add later.
  const routeTable: { routes: () => readonly RouteEntry[] } = { routes: () => [] }

  const app = new Elysia({ name: `${options.service}-http` })
    .decorate('logger', logger)
    .decorate('readiness', readiness)
    .decorate('metrics', metrics)
    .decorate('requestIdOf', (request: Request) => infoOf(request).id)
    .onRequest(({ request, set }) => {
      set.headers['x-request-id'] = start(request).id
      checkBodyHeaders(request, limit)
    })
    // Every body this system accepts is JSON; checkBodyHeaders already refused the rest (415).
    .onParse({ as: 'global' }, ({ request }) => readJsonBody(request, limit))
    .onError({ as: 'global' }, ({ code, error: thrown, set, request }) => {
      const requestId = infoOf(request).id
      // Elysia wraps whatever the parse hook threw (our 413/400) in its own ParseError.
      const error = code === 'PARSE' && thrown.cause instanceof HttpError ? thrown.cause : thrown
      set.headers['x-request-id'] = requestId
      set.headers['content-type'] = 'application/json'
      if (error instanceof HttpError) return renderHttpError(error, set, requestId)
      switch (code) {
        case 'VALIDATION': {
          set.status = 400
          const details = typeboxDetails(thrown.all as TypeBoxError[])
          return errorBody('validation_failed', `the request ${thrown.type} is invalid`, requestId, details)
        }
        case 'PARSE':
          return renderMalformedJson(thrown, set, requestId)
        case 'NOT_FOUND':
          return renderNoRoute(request, routeTable.routes(), set, requestId)
        default:
          return renderUnhandled(logger, request, code, error, set, requestId)
      }
    })
    .onAfterResponse({ as: 'global' }, ({ request, set, route }) => {
      const status = typeof set.status === 'number' ? set.status : 200
      logAccess(logger, metrics, request, infoOf(request), status, route)
    })
    .get('/health/live', () => ({ status: 'live' }), { detail: LIVE_DETAIL })
    .get(
      '/health/ready',
      async ({ set }) => {
        const report = await readiness.run()
        set.status = report.status === 'not_ready' ? 503 : 200
        return report
      },
      { detail: READY_DETAIL },
    )
    .get(
      '/metrics',
      async ({ set }) => {
        set.headers['content-type'] = metrics.registry.contentType
        return metrics.registry.metrics()
      },
      { detail: METRICS_DETAIL },
    )
    .use(openapiDocument(options))
    .use(docsPages({ service: options.service }))
  routeTable.routes = () => app.routes
  return app
}

export type HttpApp = ReturnType<typeof createHttpApp>
