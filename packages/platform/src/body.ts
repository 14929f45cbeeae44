/**
 * JSON request bodies: content type, size limit and parsing, each failure an `HttpError` (415, 413,
 * 400) instead of Elysia's text errors or a 500.
 */
import { MalformedJsonError, PayloadTooLargeError, UnsupportedMediaTypeError } from './errors'

/** `application/json`, `application/problem+json`, with or without parameters (`; charset=utf-8`). */
export function isJsonContentType(contentType: string | null): boolean {
  if (contentType === null) return false
  const mediaType = (contentType.split(';', 1)[0] ?? '').trim().toLowerCase()
  return (
    mediaType === 'application/json' || (mediaType.startsWith('application/') && mediaType.endsWith('+json'))
  )
}

/** Whether the request carries a body at all (a POST without one is left to the route's validation). */
export function hasBody(request: Request): boolean {
  const length = request.headers.get('content-length')
  if (length !== null) return length !== '0'
  return request.headers.has('transfer-encoding') || request.body !== null
}

/** Refuses early, from headers alone: wrong content type (415) or a declared length over the limit (413). */
export function checkBodyHeaders(request: Request, limitBytes: number): void {
  if (!hasBody(request)) return
  const contentType = request.headers.get('content-type')
  if (!isJsonContentType(contentType)) throw new UnsupportedMediaTypeError(contentType)
  const length = Number(request.headers.get('content-length') ?? Number.NaN)
  if (length > limitBytes) throw new PayloadTooLargeError(limitBytes)
}

/** Reads the body as UTF-8, counting bytes so a chunked body without a length is also bounded. */
async function readLimited(request: Request, limitBytes: number): Promise<string> {
  const declared = request.headers.get('content-length')
  // Fast path: the length is declared and already checked, and the runtime holds the body to it.
  if (declared !== null) return request.text()
  if (request.body === null) return ''
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > limitBytes) {
      await reader.cancel()
      throw new PayloadTooLargeError(limitBytes)
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** Reads and parses a JSON body: `undefined` for an empty body, `MalformedJsonError` for bad JSON. */
export async function readJsonBody(request: Request, limitBytes: number): Promise<unknown> {
  const text = await readLimited(request, limitBytes)
  if (text.length === 0) return undefined
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new MalformedJsonError(error instanceof Error ? error.message : 'unparseable')
  }
}
