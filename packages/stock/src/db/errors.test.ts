import { expect, test } from 'bun:test'
import type { Vehicle } from '@vehicles/contracts'
import { HttpError } from '@vehicles/platform'
import { createVehicleRepository } from '../vehicles/repository'
import type { Database } from './database'
import { isInvalidText, sqlState, unstorableField } from './errors'

/** A database whose every query fails with `error` (unit test only: the real mapping is in text.int.test.ts). */
const failing = (error: unknown) => ({ query: async () => Promise.reject(error) }) as unknown as Database

const vehicle = {
  id: '018f3a4e-7c1d-7b2a-8e3f-1a2b3c4d5e6f',
  vin: 'WVWZZZ1JZXW000001',
  manufacturer: 'Volkswagen',
  model: 'Go\ud800lf',
  year: 2022,
  odometer: 1,
  odometerUnit: 'km',
  createdAt: '2026-11-25T10:00:00.000Z',
} as Vehicle

async function answerTo(error: unknown): Promise<[number, string | undefined] | 'rethrown'> {
  try {
    await createVehicleRepository(failing(error)).list({ limit: 1, model: vehicle.model })
  } catch (thrown) {
    if (thrown instanceof HttpError) return [thrown.status, thrown.details?.[0]?.field]
    if (thrown === error) return 'rethrown'
    throw thrown
  }
  throw new Error('the failing database answered')
}

test('the SQLSTATE is found through drizzle-style causes', () => {
  expect(sqlState({ message: 'wrapped', cause: { code: '22P02' } })).toBe('22P02')
  expect(isInvalidText({ code: '22021' })).toBe(true)
  expect(isInvalidText({ code: '22P05' })).toBe(true)
  expect(isInvalidText({ code: '23505' })).toBe(false)
})

test('the field is the first text holding NUL or an unpaired surrogate; a pair is fine', () => {
  expect(unstorableField({ vin: 'X', manufacturer: 'a\u0000b', model: 'Go\ud800lf' })).toBe('manufacturer')
  expect(unstorableField({ model: 'Go\ud800lf' })).toBe('model')
  expect(unstorableField({ model: '\u{1F697}', year: 2022 })).toBe('')
})

test.each([
  ['invalid text representation', { code: '22P02' }, [400, 'model']],
  ['a NUL byte', { code: '22021' }, [400, 'model']],
  ['untranslatable character', { code: '22P05' }, [400, 'model']],
  ['a check violation nobody handled', { code: '23514' }, [409, undefined]],
  ['connection refused', { code: 'ECONNREFUSED' }, [503, undefined]],
  ['an undefined table (a missing migration)', { code: '42P01' }, [503, undefined]],
  ['out of memory', { code: '53200' }, [503, undefined]],
  ['a driver error with its own code', { code: 'UNDEFINED_VALUE' }, [503, undefined]],
])('a database error %s is never a 500', async (_what, error, expected) => {
  expect(await answerTo(error)).toEqual(expected as [number, string | undefined])
})

test('an error without any code is this service’s own bug: it is rethrown (and logged as a 500)', async () => {
  expect(await answerTo(new TypeError('x is undefined'))).toBe('rethrown')
})
