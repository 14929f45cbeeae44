/**
 * OpenAPI descriptions from the contracts' TypeBox schemas, without asking Elysia to validate with them:
 * request bodies are validated by the contracts' validator (which names field + rule and knows the
 * moving rules), and response validation would cost every request. The schemas are JSON Schema already.
 */
import type { TSchema } from '@sinclair/typebox'
import { ErrorBody, forOpenApi } from '@vehicles/contracts'

type Json = { [key: string]: unknown }

/**
 * A TypeBox schema as a plain JSON Schema object (drops TypeBox's symbol keys, `$id`s kept as is), with
 * the name rule in the form every OpenAPI tool can compile (`forOpenApi`).
 */
const plain = (schema: TSchema): Json => forOpenApi(JSON.parse(JSON.stringify(schema)) as Json)

export interface RouteDocs {
  summary: string
  description?: string
  tags?: string[]
  /** JSON request body. */
  body?: TSchema
  /** An example of the body (what API fuzzers try in their examples phase, and readers copy). */
  bodyExample?: Json
  /** Status → [schema or null for no body, description]. Error statuses default to ErrorBody. */
  responses: Record<number, [TSchema | null, string] | string>
  /** Extra parameters (query, header, path), in OpenAPI form. */
  parameters?: Json[]
  /**
   * OpenAPI links per status: name → link object (`operationId` or `operationRef`, `parameters`), so
   * clients and stateful fuzzers can follow a response to the next request.
   */
  links?: Record<number, Record<string, Json>>
  /** Unique id of the operation, the target of links. */
  operationId?: string
}

/** The `detail` object of an Elysia route. */
export function routeDocs(docs: RouteDocs) {
  const responses: Record<string, Json> = {}
  for (const [status, spec] of Object.entries(docs.responses)) {
    const [schema, description] =
      typeof spec === 'string' ? [Number(status) >= 400 ? ErrorBody : null, spec] : spec
    responses[status] =
      schema === null
        ? { description }
        : { description, content: { 'application/json': { schema: plain(schema) } } }
    const links = docs.links?.[Number(status)]
    if (links !== undefined) (responses[status] as Json).links = links
  }
  const detail: Json = { summary: docs.summary, responses }
  if (docs.operationId !== undefined) detail.operationId = docs.operationId
  if (docs.description !== undefined) detail.description = docs.description
  if (docs.tags !== undefined) detail.tags = docs.tags
  if (docs.parameters !== undefined) detail.parameters = docs.parameters
  if (docs.body !== undefined) {
    const media: Json = { schema: plain(docs.body) }
    if (docs.bodyExample !== undefined) media.example = docs.bodyExample
    detail.requestBody = { required: true, content: { 'application/json': media } }
  }
  return detail
}

/** A required path parameter documented from a TypeBox schema (e.g. `{ format: 'uuid' }`). */
export function pathParam(name: string, schema: TSchema, description?: string): Json {
  const parameter: Json = { name, in: 'path', required: true, schema: plain(schema) }
  if (description !== undefined) parameter.description = description
  return parameter
}

/** One query parameter documented from a TypeBox schema. */
export function queryParam(name: string, schema: TSchema, description?: string): Json {
  const parameter: Json = { name, in: 'query', required: false, schema: plain(schema) }
  if (description !== undefined) parameter.description = description
  return parameter
}
