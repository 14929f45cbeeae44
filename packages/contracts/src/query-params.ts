/**
 * Reads a list endpoint's query string by the rules both services' `GET` lists share: every parameter
 * known and given at most once, integers within their bounds, vehicle-name filters that follow the
 * create rule. Each problem names the parameter and the rule it breaks, for the one JSON error shape.
 */
import { Type } from '@sinclair/typebox'
import {
  codePointLength,
  NAME_MAX_LENGTH,
  NAME_PATTERN,
  NAME_PATTERN_OPENAPI,
  trimName,
} from './schemas/common'

export interface ParamProblem {
  field: string
  rule: string
  message: string
}

export interface QueryParamReader {
  /** Every problem found so far; the caller answers 400 with them when there is any. */
  readonly problems: ParamProblem[]
  problem(field: string, rule: string, message: string): void
  /** The parameter as an integer within [min, max]; undefined when absent or bad. */
  integer(name: string, min: number, max: number): number | undefined
  /** The parameter as a vehicle-name filter (trimmed); undefined when absent or bad. */
  name(field: string): string | undefined
}

/** A name filter as OpenAPI documents it: the name rule stored names follow, in code points. */
export const nameFilter = () =>
  Type.String({
    minLength: 1,
    maxLength: NAME_MAX_LENGTH,
    pattern: NAME_PATTERN_OPENAPI,
    description:
      'exact match, after trimming blanks; the rule of the stored names (no control characters or unpaired ' +
      'surrogates, at least one visible character, at most 64 code points)',
  })

const INTEGER = /^-?\d{1,24}$/
const NAME = new RegExp(NAME_PATTERN, 'u')

export function queryParamReader(params: URLSearchParams, known: readonly string[]): QueryParamReader {
  const problems: ParamProblem[] = []
  const problem = (field: string, rule: string, message: string) => {
    problems.push({ field, rule, message })
  }
  for (const name of new Set(params.keys())) {
    if (!known.includes(name))
      problem(name, 'additionalProperties', `unknown parameter; known: ${known.join(', ')}`)
    else if (params.getAll(name).length > 1) problem(name, 'maxItems', 'given more than once')
  }
  const integer = (name: string, min: number, max: number): number | undefined => {
    const raw = params.get(name)
    if (raw === null) return undefined
    if (!INTEGER.test(raw)) {
      problem(name, 'type', `must be an integer, got "${raw}"`)
      return undefined
    }
    const value = Number(raw)
    if (value < min) problem(name, 'minimum', `must be >= ${min}, got ${value}`)
    else if (value > max) problem(name, 'maximum', `must be <= ${max}, got ${value}`)
    else return value
    return undefined
  }
  const name = (field: string): string | undefined => {
    const raw = params.get(field)
    if (raw === null) return undefined
    if (raw.length === 0) problem(field, 'minLength', 'must not be empty')
    else if (!NAME.test(raw))
      problem(field, 'pattern', 'must contain a visible character and no control character')
    else if (codePointLength(raw) > NAME_MAX_LENGTH)
      problem(field, 'maxLength', `must be at most ${NAME_MAX_LENGTH} characters (code points)`)
    else return trimName(raw)
    return undefined
  }
  return { problems, problem, integer, name }
}
