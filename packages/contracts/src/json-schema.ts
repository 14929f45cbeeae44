import type { TSchema } from '@sinclair/typebox'

export const DRAFT_07 = 'http://json-schema.org/draft-07/schema#'

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** Keys that lead a schema object, in this order; every other key follows in alphabetical order. */
const LEADING_KEYS = ['$schema', '$id', 'title', 'description', 'type']

function sortKeys(value: Json, isSchemaMap = false): Json {
  if (Array.isArray(value)) return value.map((item) => sortKeys(item))
  if (value === null || typeof value !== 'object') return value
  const keys = Object.keys(value)
  // Property maps keep declaration order (it reads like the type); schema keywords get a fixed order.
  const ordered = isSchemaMap
    ? keys
    : [
        ...LEADING_KEYS.filter((key) => key in value),
        ...keys.filter((key) => !LEADING_KEYS.includes(key)).sort(),
      ]
  const out: { [key: string]: Json } = {}
  for (const key of ordered) {
    const child = value[key] as Json
    out[key] = sortKeys(child, key === 'properties' && !isSchemaMap)
  }
  return out
}

/**
 * Plain draft-07 JSON Schema from a TypeBox schema: TypeBox's symbol keys (`[Kind]`, `[OptionalKind]`)
 * are dropped by the JSON round trip, `$schema` is declared so TypeScript (Ajv) and Python
 * (`jsonschema`) pick the same dialect, and keys come in a stable order so the text is reproducible.
 */
export function toJsonSchema(schema: TSchema): Record<string, Json> {
  const plain = JSON.parse(JSON.stringify(schema)) as { [key: string]: Json }
  return sortKeys({ $schema: DRAFT_07, ...plain }) as Record<string, Json>
}

/** The exact text committed in `schemas/` and registered: pretty-printed, trailing newline. */
export function toJsonSchemaText(schema: TSchema): string {
  return `${JSON.stringify(toJsonSchema(schema), null, 2)}\n`
}
