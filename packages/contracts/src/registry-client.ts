import { RegistryRefusedError, RegistryUnavailableError } from './errors'

/**
 * A small client for the Confluent-compatible registry API (Apicurio's `ccompat/v7` behind nginx here).
 *
 * Why not `@kafkajs/confluent-schema-registry` for this: measured against a fake registry, it reports a
 * refused connection as "status 400", folds 404s into an error without status or `error_code` (so
 * "subject not found" and "schema not found" look alike), turns an nginx HTML page into a message that
 * embeds the page, and its `register` trusts `GET /config/{subject}`, which Apicurio answers with the
 * global default. Here every answer is classified: JSON 4xx → `RegistryRefusedError`
 * with status and code; network error, timeout, 5xx, 429 or a non-JSON body (an HTML error page) →
 * retried with bounded exponential backoff, then `RegistryUnavailableError`.
 */

export interface RetryPolicy {
  /** Attempts in total, the first included. */
  attempts: number
  initialDelayMs: number
  maxDelayMs: number
  /** Per-request timeout. */
  timeoutMs: number
}

export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 5,
  initialDelayMs: 200,
  maxDelayMs: 3000,
  timeoutMs: 5000,
}

export interface RegistryClientOptions {
  /** Base URL of the Confluent API, e.g. `http://127.0.0.1:18081/apis/ccompat/v7`. */
  url: string
  retry?: Partial<RetryPolicy>
  /** Called before each retry (logging); the client itself never logs. */
  onRetry?: (info: { attempt: number; delayMs: number; error: Error; method: string; path: string }) => void
}

export type Compatibility =
  | 'BACKWARD'
  | 'BACKWARD_TRANSITIVE'
  | 'FORWARD'
  | 'FORWARD_TRANSITIVE'
  | 'FULL'
  | 'FULL_TRANSITIVE'
  | 'NONE'

/** A registered version of a subject, as `POST /subjects/{subject}` returns it. */
export interface SubjectVersion {
  subject: string
  id: number
  version: number
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json'
/** Confluent error codes for "subject not found" and "schema not found" (both HTTP 404). */
export const SUBJECT_NOT_FOUND = 40401
export const SCHEMA_NOT_FOUND = 40403

/** Raised inside one attempt when it is worth trying again. */
class Retryable extends Error {}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export class RegistryClient {
  readonly url: string
  private readonly retry: RetryPolicy

  constructor(private readonly options: RegistryClientOptions) {
    this.url = options.url.replace(/\/+$/, '')
    this.retry = { ...DEFAULT_RETRY, ...options.retry }
  }

  /** One API call with classification and bounded retries; resolves to the parsed JSON body. */
  async request(method: string, path: string, body?: unknown): Promise<unknown> {
    let delay = this.retry.initialDelayMs
    let last: Error = new Error('no attempt made')
    for (let attempt = 1; attempt <= this.retry.attempts; attempt++) {
      try {
        return await this.attempt(method, path, body)
      } catch (error) {
        if (!(error instanceof Retryable)) throw error
        last = error
        if (attempt === this.retry.attempts) break
        // Full jitter keeps several services from hammering a registry that just came back.
        const wait = Math.round(delay / 2 + (Math.random() * delay) / 2)
        this.options.onRetry?.({ attempt, delayMs: wait, error, method, path })
        await sleep(wait)
        delay = Math.min(delay * 2, this.retry.maxDelayMs)
      }
    }
    throw new RegistryUnavailableError(
      `schema registry ${this.url} unavailable: ${method} ${path} failed ${this.retry.attempts} times, last: ${last.message}`,
      this.retry.attempts,
      last,
    )
  }

  private async attempt(method: string, path: string, body?: unknown): Promise<unknown> {
    let response: Response
    try {
      response = await fetch(`${this.url}${path}`, {
        method,
        headers: {
          accept: `${CONTENT_TYPE}, application/json`,
          ...(body === undefined ? {} : { 'content-type': CONTENT_TYPE }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.retry.timeoutMs),
      })
    } catch (error) {
      throw new Retryable(`network error: ${(error as Error).message}`)
    }
    const contentType = response.headers.get('content-type') ?? ''
    const text = await response.text().catch(() => '')
    if (response.status >= 500 || response.status === 429 || response.status === 408) {
      throw new Retryable(`HTTP ${response.status} (${describeBody(contentType, text)})`)
    }
    if (!contentType.includes('json')) {
      // A balancer's error page or a wrong URL: not the registry talking. Retry, then report it plainly.
      throw new Retryable(`HTTP ${response.status} with ${describeBody(contentType, text)}, expected JSON`)
    }
    let json: unknown
    try {
      json = text === '' ? null : JSON.parse(text)
    } catch {
      throw new Retryable(`HTTP ${response.status} with a body that is not JSON despite ${contentType}`)
    }
    if (!response.ok) {
      const { error_code: code, message } = (json ?? {}) as { error_code?: unknown; message?: unknown }
      throw new RegistryRefusedError(
        `schema registry refused ${method} ${path}: HTTP ${response.status}${
          typeof code === 'number' ? ` (error ${code})` : ''
        }: ${typeof message === 'string' ? message : text.slice(0, 300)}`,
        response.status,
        typeof code === 'number' ? code : undefined,
      )
    }
    return json
  }

  /** The version of `subject` whose content is `schema`, or null when the subject or schema is not there. */
  async lookup(subject: string, schema: string): Promise<SubjectVersion | null> {
    try {
      const found = (await this.request('POST', `/subjects/${encodeURIComponent(subject)}`, {
        schemaType: 'JSON',
        schema,
      })) as Partial<SubjectVersion>
      return { subject, id: requireInt(found.id, 'id'), version: requireInt(found.version, 'version') }
    } catch (error) {
      if (error instanceof RegistryRefusedError && error.status === 404) return null
      throw error
    }
  }

  /** Registers `schema` under `subject` (the registry returns the existing id for known content). */
  async register(subject: string, schema: string): Promise<number> {
    const answer = (await this.request('POST', `/subjects/${encodeURIComponent(subject)}/versions`, {
      schemaType: 'JSON',
      schema,
    })) as { id?: unknown }
    return requireInt(answer.id, 'id')
  }

  /** The text of the subject's latest version, or null when the subject does not exist. */
  async latest(subject: string): Promise<string | null> {
    try {
      const answer = (await this.request(
        'GET',
        `/subjects/${encodeURIComponent(subject)}/versions/latest`,
      )) as { schema?: unknown }
      if (typeof answer.schema !== 'string') throw new Error(`the latest ${subject} answered no schema text`)
      return answer.schema
    } catch (error) {
      if (error instanceof RegistryRefusedError && error.status === 404) return null
      throw error
    }
  }

  /** The schema text registered under `id`, or null when the id is unknown. */
  async schemaById(id: number): Promise<string | null> {
    try {
      const answer = (await this.request('GET', `/schemas/ids/${id}`)) as { schema?: unknown }
      if (typeof answer.schema !== 'string') throw new Error(`GET /schemas/ids/${id} answered no schema text`)
      return answer.schema
    } catch (error) {
      if (error instanceof RegistryRefusedError && error.status === 404) return null
      throw error
    }
  }

  /** Subject names known to the registry. */
  async subjects(): Promise<string[]> {
    return (await this.request('GET', '/subjects')) as string[]
  }

  /** The subject's compatibility level as the registry reports it (Apicurio: the global one if unset). */
  async compatibility(subject: string): Promise<string> {
    const answer = (await this.request('GET', `/config/${encodeURIComponent(subject)}`)) as {
      compatibilityLevel?: unknown
      compatibility?: unknown
    }
    const level = answer.compatibilityLevel ?? answer.compatibility
    if (typeof level !== 'string') throw new Error(`GET /config/${subject} answered no compatibility level`)
    return level.toUpperCase()
  }

  async setCompatibility(subject: string, level: Compatibility): Promise<void> {
    await this.request('PUT', `/config/${encodeURIComponent(subject)}`, { compatibility: level })
  }
}

function requireInt(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new Error(`schema registry answered without an integer ${name}: ${JSON.stringify(value)}`)
  }
  return value
}

function describeBody(contentType: string, text: string): string {
  const snippet = text
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 120)
  return `${contentType || 'no content type'}${snippet ? `: "${snippet}"` : ''}`
}
