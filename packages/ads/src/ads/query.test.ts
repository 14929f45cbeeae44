import { describe, expect, test } from 'bun:test'
import { decodeCursor, encodeCursor, filterFor, InvalidCursorError, sortFor, sortKeyOf } from './query'

describe('cursor', () => {
  test('round-trips', () => {
    const cursor = { sort: 'price', key: 12_000, id: 'a1' } as const
    expect(decodeCursor(encodeCursor(cursor), 'price')).toEqual(cursor)
  })

  test('is refused when edited, truncated or used with another sort', () => {
    const cursor = encodeCursor({ sort: 'newest', key: 1_700_000_000_000, id: 'a1' })
    expect(() => decodeCursor(cursor, 'price')).toThrow(/issued for sort=newest, not sort=price/)
    expect(() => decodeCursor(cursor.slice(0, 10), 'newest')).toThrow(InvalidCursorError)
    expect(() => decodeCursor('not a cursor!', 'newest')).toThrow(InvalidCursorError)
    const forged = Buffer.from(JSON.stringify(['price', 1.5, 'x'])).toString('base64url')
    expect(() => decodeCursor(forged, 'price')).toThrow(InvalidCursorError)
    const extra = Buffer.from(JSON.stringify(['price', 1, ''])).toString('base64url')
    expect(() => decodeCursor(extra, 'price')).toThrow(InvalidCursorError)
  })
})

describe('sortFor', () => {
  test('the tiebreak on _id follows the key direction', () => {
    expect(sortFor('price')).toEqual({ 'price.amount': 1, _id: 1 })
    expect(sortFor('-price')).toEqual({ 'price.amount': -1, _id: -1 })
    expect(sortFor('newest')).toEqual({ updatedAt: -1, _id: -1 })
  })

  test('sortKeyOf reads the key the sort uses', () => {
    const doc = { price: { amount: 7, currency: 'EUR' as const }, updatedAt: new Date(5) }
    expect(sortKeyOf('-price', doc)).toBe(7)
    expect(sortKeyOf('newest', doc)).toBe(5)
  })
})

describe('filterFor', () => {
  test('no filter at all', () => {
    expect(filterFor({ sort: 'price', limit: 20 })).toEqual({})
  })

  test('one clause stands alone, ranges keep only their given bounds', () => {
    expect(filterFor({ sort: 'price', limit: 20, yearFrom: 2010 })).toEqual({ year: { $gte: 2010 } })
    expect(filterFor({ sort: 'price', limit: 20, priceMax: 9 })).toEqual({ 'price.amount': { $lte: 9 } })
  })

  test('filters and the cursor sit side by side in one flat document (FerretDB pushes those down)', () => {
    expect(
      filterFor({
        sort: '-price',
        limit: 20,
        manufacturer: 'Renault',
        model: 'Clio',
        priceMin: 1,
        priceMax: 2,
        after: { sort: '-price', key: 2, id: 'm' },
      }),
    ).toEqual({
      manufacturer: 'Renault',
      model: 'Clio',
      'price.amount': { $gte: 1, $lte: 2 },
      $or: [{ 'price.amount': { $lt: 2 } }, { 'price.amount': 2, _id: { $lt: 'm' } }],
    })
  })

  test('a newest cursor compares dates', () => {
    expect(filterFor({ sort: 'newest', limit: 20, after: { sort: 'newest', key: 10, id: 'z' } })).toEqual({
      $or: [{ updatedAt: { $lt: new Date(10) } }, { updatedAt: new Date(10), _id: { $lt: 'z' } }],
    })
  })
})
