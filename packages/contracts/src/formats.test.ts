import { describe, expect, test } from 'bun:test'
import cases from '../fixtures/format-cases.json'
import { createAjv } from './validate'

/**
 * The estimator validates the same events with Python's jsonschema; these shared cases pin the formats
 * so that a record one language accepts is not refused by the other.
 */
const ajv = createAjv()

describe.each(['date-time', 'uuid'] as const)('format %s', (format) => {
  const validate = ajv.compile({ type: 'string', format })
  test.each(cases[format].valid)('accepts %s', (value) => expect(validate(value)).toBe(true))
  test.each(cases[format].invalid)('refuses %s', (value) => expect(validate(value)).toBe(false))
})
