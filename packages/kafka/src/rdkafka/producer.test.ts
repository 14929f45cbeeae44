import { expect, test } from 'bun:test'
import { KafkaUsageError } from '../errors'
import { rotationIds } from './producer'

test('a rotation of one is the plain id (a writer without a rotation keeps its id)', () => {
  expect(rotationIds('outbox@db')).toEqual(['outbox@db'])
  expect(rotationIds('outbox@db', 1)).toEqual(['outbox@db'])
})

test('a rotation of n is n distinct ids derived from the id alone, the same on every call', () => {
  expect(rotationIds('outbox@db', 4)).toEqual(['outbox@db-0', 'outbox@db-1', 'outbox@db-2', 'outbox@db-3'])
  expect(rotationIds('outbox@db', 4)).toEqual(rotationIds('outbox@db', 4))
})

test('a rotation that is not a whole number in 1..16 is refused', () => {
  for (const bad of [0, -1, 1.5, 17, Number.NaN]) expect(() => rotationIds('x', bad)).toThrow(KafkaUsageError)
})
