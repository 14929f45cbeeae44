import { describe, expect, test } from 'bun:test'
import { SAMPLE_VEHICLE } from '@vehicles/testing'
import { maxModelYear, normaliseVin, parseCreateVehicle } from './create-vehicle'
import { CreateVehicleBody } from './schemas/vehicle'
import { ContractViolation, check } from './validate'

const valid = SAMPLE_VEHICLE

/** Runs `parseCreateVehicle` and returns the violation it throws (fails the test when none). */
function violationsOf(body: unknown, now?: Date) {
  try {
    parseCreateVehicle(body, now)
  } catch (error) {
    expect(error).toBeInstanceOf(ContractViolation)
    return (error as ContractViolation).violations
  }
  throw new Error(`expected ${JSON.stringify(body)} to be rejected`)
}

describe('POST /stock body', () => {
  test("the original system's example body is rejected, naming vin and odometerUnit", () => {
    const seed = {
      vin: 'vin',
      model: 'model',
      manufacturer: 'manufacturer',
      year: 2022,
      odometer: 1000,
      odometerUnit: 'odometerUnit',
    }
    const violations = violationsOf(seed)
    expect(violations.map((v) => [v.field, v.rule]).sort()).toEqual([
      ['odometerUnit', 'enum'],
      ['vin', 'pattern'],
    ])
    expect(violations.find((v) => v.field === 'odometerUnit')?.message).toBe('must be one of "km", "mi"')
    expect(violations.find((v) => v.field === 'vin')?.message).toContain('17 characters')
  })

  test('a valid body passes unchanged', () => {
    expect(parseCreateVehicle(valid)).toEqual(valid as CreateVehicleBody)
  })

  test('a lower-case VIN is accepted and upper-cased; names are trimmed of blank characters', () => {
    const parsed = parseCreateVehicle({
      ...valid,
      vin: 'wvwzzz1jzxw000001',
      manufacturer: '  VW\u00a0',
      model: '\u200b\u3000Golf GTI\u2028\ufeff',
    })
    expect(parsed.vin).toBe('WVWZZZ1JZXW000001')
    expect(parsed.manufacturer).toBe('VW')
    expect(parsed.model).toBe('Golf GTI')
    expect(normaliseVin('1hgcm82633a004352')).toBe('1HGCM82633A004352')
  })

  test('extra properties are rejected, naming the property and rule additionalProperties', () => {
    const violations = violationsOf({ ...valid, price: 10, colour: 'red' })
    expect(violations).toEqual([
      { field: 'price', rule: 'additionalProperties', message: 'is not allowed (unknown property)' },
      { field: 'colour', rule: 'additionalProperties', message: 'is not allowed (unknown property)' },
    ])
  })

  test.each([
    ['I, O and Q are not VIN letters', { vin: 'WVWZZZ1JZXW00000O' }, 'vin', 'pattern'],
    ['a VIN has 17 characters', { vin: 'WVWZZZ1JZXW00000' }, 'vin', 'pattern'],
    ['a blank manufacturer', { manufacturer: '   ' }, 'manufacturer', 'pattern'],
    ['an empty model', { model: '' }, 'model', 'pattern'],
    ['a model longer than 64', { model: 'x'.repeat(65) }, 'model', 'maxLength'],
    ['a year before 1886', { year: 1885 }, 'year', 'minimum'],
    ['a fractional year', { year: 2020.5 }, 'year', 'type'],
    ['a negative odometer', { odometer: -1 }, 'odometer', 'minimum'],
    ['an odometer above 2,000,000', { odometer: 2_000_001 }, 'odometer', 'maximum'],
    ['a string odometer', { odometer: '1000' }, 'odometer', 'type'],
  ])('%s is rejected', (_name, patch, field, rule) => {
    expect(violationsOf({ ...valid, ...patch }).map((v) => [v.field, v.rule])).toEqual([[field, rule]])
  })

  test('a VIN with a trailing newline fails on length too (Python `$` matches before a final newline)', () => {
    const violations = violationsOf({ ...valid, vin: 'WVWZZZ1JZXW000001\n' })
    expect(violations.map((v) => [v.field, v.rule])).toEqual([
      ['vin', 'maxLength'],
      ['vin', 'pattern'],
    ])
  })

  test('missing fields are each named with rule required', () => {
    const violations = violationsOf({ vin: valid.vin })
    expect(violations.map((v) => [v.field, v.rule])).toEqual([
      ['manufacturer', 'required'],
      ['model', 'required'],
      ['year', 'required'],
      ['odometer', 'required'],
      ['odometerUnit', 'required'],
    ])
  })

  test('a body that is not an object is one violation of the whole value', () => {
    expect(violationsOf([1, 2]).map((v) => [v.field, v.rule])).toEqual([['', 'type']])
    expect(violationsOf(null).map((v) => [v.field, v.rule])).toEqual([['', 'type']])
  })

  test('the year may be at most next year, checked at run time against the clock', () => {
    const now = new Date('2026-06-01T00:00:00Z')
    expect(maxModelYear(now)).toBe(2027)
    expect(parseCreateVehicle({ ...valid, year: 2027 }, now).year).toBe(2027)
    expect(violationsOf({ ...valid, year: 2028 }, now)).toEqual([
      { field: 'year', rule: 'maximum', message: 'must be <= 2027' },
    ])
    // The same body is fine a year later: the bound moves, the schema does not.
    expect(parseCreateVehicle({ ...valid, year: 2028 }, new Date('2027-01-01T00:00:00Z')).year).toBe(2028)
  })

  test('check() reports nothing for a valid value', () => {
    expect(check(CreateVehicleBody, valid)).toEqual([])
  })
})

test.each([
  ['NEL, a space to Python and a letter to JavaScript', '\u0085'],
  ['a lone surrogate', '\ud800'],
  ['a trailing tab', 'Golf\t'],
  ['a trailing newline', 'Golf\n'],
])('a name with %s is refused as rule pattern of that field', (_what, text) => {
  expect(violationsOf({ ...valid, model: text }).map((v) => [v.field, v.rule])).toEqual([
    ['model', 'pattern'],
  ])
})

test('names are counted in code points: 64 emoji fit, 65 do not', () => {
  expect(parseCreateVehicle({ ...valid, model: '\u{1F697}'.repeat(64) }).model).toHaveLength(128)
  expect(violationsOf({ ...valid, model: '\u{1F697}'.repeat(65) }).map((v) => v.rule)).toEqual(['maxLength'])
})

test('a name with a control character inside is refused by field and rule (PostgreSQL refuses NUL)', () => {
  let caught: unknown
  try {
    parseCreateVehicle({ ...valid, manufacturer: 'Volks\u0000wagen', model: 'Go\u001alf' })
  } catch (error) {
    caught = error
  }
  expect(caught).toBeInstanceOf(ContractViolation)
  const fields = (caught as ContractViolation).violations.map((v) => `${v.field}:${v.rule}`)
  expect(fields.sort()).toEqual(['manufacturer:pattern', 'model:pattern'])
})
