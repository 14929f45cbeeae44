import { describe, expect, test } from 'bun:test'
import { decodeCursor, encodeCursor, filterFor, InvalidCursorError, sortFor, sortKeyOf } from './query'

const ID = '018f3a4e-7c1d-7b2a-8e3f-1a2b3c4d5e6f'

describe('cursor', () => {
  test('round-trips, readable: <sort key>.<vehicle id>', () => {
    const cursor = { sort: 'price', key: 12_000, id: ID } as const
    expect(encodeCursor(cursor)).toBe(`12000.${ID}`)
    expect(decodeCursor(encodeCursor(cursor), 'price')).toEqual(cursor)
  })

  test('the position applies to the sort it is used with (the document cannot tie two parameters)', () => {
    const cursor = encodeCursor({ sort: 'newest', key: 1_700_000_000_000, id: ID })
    expect(decodeCursor(cursor, 'price')).toEqual({ sort: 'price', key: 1_700_000_000_000, id: ID })
  })

  test.each([
    ['truncated', `12000.${ID.slice(0, 20)}`],
    ['a newline after it', `12000.${ID}\n`],
    ['a fractional key', `1.5.${ID}`],
    ['a negative key', `-1.${ID}`],
    ['a leading zero', `012.${ID}`],
    ['an upper-case id', `12.${ID.toUpperCase()}`],
    ['the old base64 form', Buffer.from(JSON.stringify(['price', 1, ID])).toString('base64url')],
    ['a key past 2^53', `9007199254740993.${ID}`],
    ['empty', ''],
  ])('is refused when %s', (_what, value) => {
    expect(() => decodeCursor(value, 'price')).toThrow(InvalidCursorError)
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
