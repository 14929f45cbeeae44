import { expect, test } from 'bun:test'
import { Type } from '@sinclair/typebox'
import { ConfigError, loadConfig, parseConfig } from './config'

const Schema = Type.Object({
  PORT: Type.Integer({ minimum: 1, maximum: 65_535, default: 3002 }),
  DATABASE_URL: Type.String({ pattern: '^postgres://' }),
  API_TOKEN: Type.String({ minLength: 16 }),
  VERBOSE: Type.Boolean({ default: false }),
  OPTIONAL: Type.Optional(Type.String()),
})

test('converts strings, applies defaults, ignores unrelated variables', () => {
  const config = parseConfig(Schema, {
    DATABASE_URL: 'postgres://x',
    API_TOKEN: 'a-token-long-enough',
    VERBOSE: 'true',
    UNRELATED: 'x',
  })
  expect(config).toEqual({
    PORT: 3002,
    DATABASE_URL: 'postgres://x',
    API_TOKEN: 'a-token-long-enough',
    VERBOSE: true,
  })
})

test('names every bad or missing variable at once; a secret has no default', () => {
  try {
    parseConfig(Schema, { PORT: 'eighty', DATABASE_URL: 'mysql://x', OPTIONAL: '' })
    throw new Error('expected a ConfigError')
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    const problems = (error as ConfigError).problems
    expect(problems.map((p) => p.variable).sort()).toEqual(['API_TOKEN', 'DATABASE_URL', 'PORT'])
    expect(problems.find((p) => p.variable === 'API_TOKEN')?.message).toBe('is required')
    expect(problems.find((p) => p.variable === 'PORT')?.message).toContain('"eighty"')
  }
})

test('an empty value counts as unset', () => {
  const config = parseConfig(Schema, {
    PORT: '',
    DATABASE_URL: 'postgres://x',
    API_TOKEN: 'a-token-long-enough',
  })
  expect(config.PORT).toBe(3002)
})

test('loadConfig prints the problems and exits 1', () => {
  let code: number | undefined
  const write = process.stderr.write
  let printed = ''
  process.stderr.write = ((chunk: string) => {
    printed += chunk
    return true
  }) as typeof process.stderr.write
  try {
    loadConfig(Schema, {}, ((c: number) => {
      code = c
      throw new Error('exited')
    }) as (code: number) => never)
  } catch (error) {
    expect((error as Error).message).toBe('exited')
  } finally {
    process.stderr.write = write
  }
  expect(code).toBe(1)
  expect(printed).toContain('DATABASE_URL: is required')
  expect(printed).toContain('API_TOKEN: is required')
})
