/** The stock's configuration rules that span variables, on plain environments (no process is started). */
import { describe, expect, test } from 'bun:test'
import { parseStockConfig } from './config'

const POSTGRES = 'postgres://vehicles:vehicles@127.0.0.1:5432/vehicles'

describe('parseStockConfig', () => {
  test('production without DATABASE_URL is refused, naming the variable and the reason', () => {
    expect(() => parseStockConfig({ NODE_ENV: 'production' })).toThrow(
      'DATABASE_URL: is required when NODE_ENV=production',
    )
    // An empty value counts as unset, as everywhere in the configuration.
    expect(() => parseStockConfig({ NODE_ENV: 'production', DATABASE_URL: '' })).toThrow('DATABASE_URL')
  })

  test('production with DATABASE_URL is accepted', () => {
    const config = parseStockConfig({ NODE_ENV: 'production', DATABASE_URL: POSTGRES })
    expect(config.DATABASE_URL).toBe(POSTGRES)
    expect(config.NODE_ENV).toBe('production')
  })

  test('outside production, no DATABASE_URL means the embedded PGlite, as before', () => {
    for (const NODE_ENV of [undefined, 'development', 'test']) {
      expect(parseStockConfig({ NODE_ENV }).DATABASE_URL).toBeUndefined()
    }
  })

  test('KAFKA_BROKERS still needs SCHEMA_REGISTRY_URL', () => {
    expect(() => parseStockConfig({ DATABASE_URL: POSTGRES, KAFKA_BROKERS: 'kafka-1:9092' })).toThrow(
      'SCHEMA_REGISTRY_URL: is required when KAFKA_BROKERS is set',
    )
  })
})
