/** Minimal Confluent-API calls for the stack's registry tests (the services use packages/contracts). */

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json'

export function vehicleSchema(extra: Record<string, unknown> = {}) {
  return JSON.stringify({
    $schema: 'http://json-schema.org/draft-07/schema#',
    type: 'object',
    additionalProperties: false,
    required: ['id', 'year'],
    properties: { id: { type: 'string' }, year: { type: 'integer' }, ...extra },
  })
}

export async function call(url: string, init: RequestInit = {}) {
  const response = await fetch(url, {
    ...init,
    headers: { 'content-type': CONTENT_TYPE, accept: 'application/json', ...init.headers },
    signal: AbortSignal.timeout(20_000),
  })
  const text = await response.text()
  let body: unknown
  try {
    body = text === '' ? undefined : JSON.parse(text)
  } catch {
    throw new Error(
      `${init.method ?? 'GET'} ${url} answered ${response.status} with a non-JSON body: ${text.slice(0, 200)}`,
    )
  }
  return {
    status: response.status,
    body: body as Record<string, unknown>,
    contentType: response.headers.get('content-type'),
  }
}

export function register(base: string, subject: string, schema: string) {
  return call(`${base}/subjects/${subject}/versions`, {
    method: 'POST',
    body: JSON.stringify({ schemaType: 'JSON', schema }),
  })
}
