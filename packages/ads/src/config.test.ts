import { expect, test } from 'bun:test'
import { ConfigError, parseConfig } from '@vehicles/platform'
import { AdsConfigSchema } from './config'

const required = {
  MONGODB_URL: 'mongodb://127.0.0.1:27117/',
  KAFKA_BROKERS: '127.0.0.1:19092,127.0.0.1:19093',
  SCHEMA_REGISTRY_URL: 'http://127.0.0.1:18081/apis/ccompat/v7',
}

test('defaults of the system: port 3003, group vehicles-ads, the processed-event topic, majority writes', () => {
  expect(parseConfig(AdsConfigSchema, required)).toMatchObject({
    PORT: 3003,
    GROUP_ID: 'vehicles-ads',
    INPUT_TOPIC: 'stock.vehicle-processed',
    MONGODB_DATABASE: 'vehicles_ads',
    MONGODB_WRITE_CONCERN: 'majority',
  })
})

test('every missing or bad variable is named', () => {
  let problems: string[] = []
  try {
    parseConfig(AdsConfigSchema, { PORT: 'x', KAFKA_BROKERS: 'nope', LOG_LEVEL: 'loud' })
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    problems = error.problems.map((p) => p.variable).sort()
  }
  expect(problems).toEqual(['KAFKA_BROKERS', 'LOG_LEVEL', 'MONGODB_URL', 'PORT', 'SCHEMA_REGISTRY_URL'])
})
