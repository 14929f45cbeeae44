/**
 * The conformance corpus (`fixtures/conformance.json`): values at and past every rule of every generated
 * schema, each with the verdict both languages must reach. The TypeScript test and the estimator's pytest
 * run all of it; this module holds what the TypeScript side needs to read it.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { packageRoot } from './generate'
import { codePointLength } from './schemas/common'

export interface ConformanceCase {
  /** Generated file under `schemas/`, without `.json` ("http/create-vehicle-body"). */
  schema: string
  /** Dot path of the property the value goes to ("vehicle.manufacturer", "error.details.0.rule"). */
  field: string
  value: unknown
  valid: boolean
  why: string
}

export interface Corpus {
  /** One valid document per schema; each case changes one field of it. */
  documents: Record<string, unknown>
  cases: ConformanceCase[]
}

export const CORPUS_FILE = join(packageRoot, 'fixtures', 'conformance.json')

export function loadCorpus(): Corpus {
  return JSON.parse(readFileSync(CORPUS_FILE, 'utf8')) as Corpus
}

/** A deep copy of `document` with `value` at the dot path `field` (array indexes are numbers). */
export function withField(document: unknown, field: string, value: unknown): unknown {
  const copy = structuredClone(document) as Record<string, unknown>
  const parts = field.split('.')
  let node: Record<string, unknown> = copy
  for (const part of parts.slice(0, -1)) node = node[part] as Record<string, unknown>
  node[parts.at(-1) as string] = value
  return copy
}

type Node = { [key: string]: unknown }

/** Every leaf property of a schema (objects descended into, array items as index 0), with its path. */
export function* leaves(schema: Node, path = ''): Generator<[string, Node]> {
  if (schema.type === 'object' && schema.properties !== undefined) {
    for (const [name, child] of Object.entries(schema.properties as Record<string, Node>))
      yield* leaves(child, path === '' ? name : `${path}.${name}`)
  } else if (schema.type === 'array' && schema.items !== undefined) {
    yield* leaves(schema.items as Node, `${path}.0`)
  } else {
    yield [path, schema]
  }
}

/**
 * What the corpus must hold for one leaf: a case at each bound (valid) and one past it (invalid), every
 * enum member and a non-member, a valid and an invalid string for a pattern or format, a wrong type.
 * Returns what is missing, in words; empty when the leaf is covered.
 */
export function missingCases(leaf: Node, cases: readonly ConformanceCase[]): string[] {
  const missing: string[] = []
  const has = (valid: boolean, test: (value: unknown) => boolean) =>
    cases.some((c) => c.valid === valid && test(c.value))
  const need = (what: string, valid: boolean, test: (value: unknown) => boolean) => {
    if (!has(valid, test)) missing.push(what)
  }
  const isString = (v: unknown): v is string => typeof v === 'string'
  const isNumber = (v: unknown): v is number => typeof v === 'number'
  const type = leaf.type ?? (leaf.enum !== undefined ? 'string' : undefined)
  need(`a value that is not of type ${String(type)}`, false, (v) =>
    type === 'integer' ? !isNumber(v) : type === 'string' ? !isString(v) : false,
  )
  if (typeof leaf.maxLength === 'number') {
    const max = leaf.maxLength
    need(`a valid string of ${max} code points`, true, (v) => isString(v) && codePointLength(v) === max)
    need(
      `an invalid string of ${max + 1} code points`,
      false,
      (v) => isString(v) && codePointLength(v) === max + 1,
    )
  }
  if (typeof leaf.minLength === 'number') {
    const min = leaf.minLength
    need(`a valid string of ${min} code points`, true, (v) => isString(v) && codePointLength(v) === min)
    need(
      `an invalid string of ${min - 1} code points`,
      false,
      (v) => isString(v) && codePointLength(v) === min - 1,
    )
  }
  if (typeof leaf.minimum === 'number') {
    const min = leaf.minimum
    need(`the minimum ${min} (valid)`, true, (v) => v === min)
    need(`${min - 1}, past the minimum (invalid)`, false, (v) => v === min - 1)
  }
  if (typeof leaf.maximum === 'number') {
    const max = leaf.maximum
    need(`the maximum ${max} (valid)`, true, (v) => v === max)
    need(`${max + 1}, past the maximum (invalid)`, false, (v) => v === max + 1)
  }
  if (Array.isArray(leaf.enum)) {
    for (const member of leaf.enum)
      need(`the enum member ${JSON.stringify(member)}`, true, (v) => v === member)
    need(
      'a string that is not an enum member',
      false,
      (v) => isString(v) && !(leaf.enum as unknown[]).includes(v),
    )
  }
  for (const keyword of ['pattern', 'format'] as const) {
    if (leaf[keyword] === undefined) continue
    need(`a valid string for the ${keyword}`, true, isString)
    need(`an invalid string for the ${keyword}`, false, isString)
  }
  return missing
}
