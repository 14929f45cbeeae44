/**
 * Registered event schemas that a newer version replaces although the registry calls the change
 * incompatible. Their names were checked with the pattern `\S`, which Ajv and Python's `re` read
 * differently (U+0085 is a letter to one and a space to the other), so the same record was valid on one
 * side of Kafka and dead-lettered on the other. The replacement spells the rule with explicit character
 * classes and refuses controls and lone surrogates, which is narrower, hence not BACKWARD-compatible.
 *
 * `contracts:register` replaces a version only when it is the subject's latest AND one of these
 * (compared by content, whitespace and key order aside); any other incompatible change is still refused.
 * Records already written under such a version and refused by the new rules go to the dead-letter topic
 * with the field named, as they would have on the Python side anyway.
 */
import { createHash } from 'node:crypto'

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

const canonical = (value: Json): Json => {
  if (Array.isArray(value)) return value.map(canonical)
  if (value === null || typeof value !== 'object') return value
  const out: { [key: string]: Json } = {}
  for (const key of Object.keys(value).sort()) out[key] = canonical(value[key] as Json)
  return out
}

/** SHA-256 of the schema's JSON with keys sorted and no whitespace. */
export const contentHash = (schemaText: string): string =>
  createHash('sha256')
    .update(JSON.stringify(canonical(JSON.parse(schemaText) as Json)))
    .digest('hex')

const SUPERSEDED: Readonly<Record<string, readonly string[]>> = {
  'stock.vehicle-created-value': ['052b582a47e2a57f58ed4f98be8437f9113f5c413469c8cd4234adcf9d82a7c5'],
  'stock.vehicle-processed-value': ['b71e16205ce40be8d01a7ee3a9668920fe63c5530d2c5c08f9dfea52c3a62dc5'],
}

/** True when `schemaText`, registered under `subject`, is a version known to be ambiguous. */
export const isSuperseded = (subject: string, schemaText: string): boolean =>
  SUPERSEDED[subject]?.includes(contentHash(schemaText)) ?? false
