/**
 * An in-memory stand-in for the Confluent registry API, for unit tests only (the integration tests use
 * the real registry). It dedupes by exact text, never checks compatibility, and can be told to misbehave
 * like a balancer in front of a dead registry (`mode`).
 */
export type FakeMode = 'ok' | 'html-502' | 'html-200'

export interface FakeRegistry {
  url: string
  mode: FakeMode
  /** Requests seen, as "METHOD /path". */
  readonly requests: string[]
  /** Registers directly (bypassing HTTP); returns the id. */
  add(subject: string, schema: string): number
  stop(): void
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
  })

export function startFakeRegistry(): FakeRegistry {
  const ids = new Map<string, number>() // schema text → id
  const texts = new Map<number, string>()
  const subjects = new Map<string, number[]>() // subject → ids by version
  const config = new Map<string, string>()
  const requests: string[] = []
  const add = (subject: string, schema: string): number => {
    let id = ids.get(schema)
    if (id === undefined) {
      id = ids.size + 1
      ids.set(schema, id)
      texts.set(id, schema)
    }
    const versions = subjects.get(subject) ?? []
    if (!versions.includes(id)) versions.push(id)
    subjects.set(subject, versions)
    return id
  }
  const state = { mode: 'ok' as FakeMode }
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(request) {
      const url = new URL(request.url)
      const path = url.pathname.replace(/^\/api/, '')
      requests.push(`${request.method} ${path}`)
      if (state.mode !== 'ok') {
        const status = state.mode === 'html-502' ? 502 : 200
        return new Response('<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>', {
          status,
          headers: { 'content-type': 'text/html' },
        })
      }
      const parts = path.split('/').slice(1).map(decodeURIComponent)
      const body = request.method === 'GET' ? undefined : ((await request.json()) as Record<string, unknown>)
      if (parts[0] === 'subjects' && parts.length === 1) return json([...subjects.keys()])
      if (
        parts[0] === 'subjects' &&
        parts[1] !== undefined &&
        parts.length === 2 &&
        request.method === 'POST'
      ) {
        const versions = subjects.get(parts[1])
        if (versions === undefined) return json({ error_code: 40401, message: 'Subject not found' }, 404)
        const id = ids.get(String(body?.schema))
        const version = id === undefined ? -1 : versions.indexOf(id)
        if (version === -1) return json({ error_code: 40403, message: 'Schema not found' }, 404)
        return json({ subject: parts[1], id, version: version + 1, schema: body?.schema })
      }
      if (parts[0] === 'subjects' && parts[1] !== undefined && parts[2] === 'versions') {
        return json({ id: add(parts[1], String(body?.schema)) })
      }
      if (parts[0] === 'schemas' && parts[1] === 'ids') {
        const text = texts.get(Number(parts[2]))
        if (text === undefined) return json({ error_code: 40403, message: 'Schema not found' }, 404)
        return json({ schema: text, schemaType: 'JSON' })
      }
      if (parts[0] === 'config' && parts[1] !== undefined) {
        if (request.method === 'PUT') config.set(parts[1], String(body?.compatibility))
        return json({ compatibilityLevel: config.get(parts[1]) ?? 'NONE' })
      }
      return json({ error_code: 404, message: 'not found' }, 404)
    },
  })
  return {
    url: `http://127.0.0.1:${server.port}/api`,
    get mode() {
      return state.mode
    },
    set mode(mode: FakeMode) {
      state.mode = mode
    },
    requests,
    add,
    stop: () => server.stop(true),
  }
}
