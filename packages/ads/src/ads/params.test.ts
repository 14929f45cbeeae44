import { describe, expect, test } from 'bun:test'
import { InvalidParamsError, parseAdsQuery } from './params'
import { encodeCursor } from './query'

const parse = (qs: string) => parseAdsQuery(new URLSearchParams(qs))

function problemsOf(qs: string) {
  try {
    parse(qs)
  } catch (error) {
    if (error instanceof InvalidParamsError) return error.problems.map((p) => `${p.field}:${p.rule}`)
    throw error
  }
  throw new Error(`"${qs}" was accepted`)
}

describe('parseAdsQuery', () => {
  test('defaults: newest first, 20 per page, no filter', () => {
    expect(parse('')).toEqual({ sort: 'newest', limit: 20 })
  })

  test('every parameter', () => {
    const id = '018f3a4e-7c1d-7b2a-8e3f-1a2b3c4d5e6f'
    const cursor = encodeCursor({ sort: 'price', key: 100, id })
    expect(
      parse(
        `limit=50&sort=price&manufacturer=%20Renault%20&model=Clio&yearFrom=2010&yearTo=2020&priceMin=0&priceMax=9000&cursor=${cursor}`,
      ),
    ).toEqual({
      sort: 'price',
      limit: 50,
      manufacturer: 'Renault',
      model: 'Clio',
      yearFrom: 2010,
      yearTo: 2020,
      priceMin: 0,
      priceMax: 9000,
      after: { sort: 'price', key: 100, id },
    })
  })

  test('each bad parameter is named, all at once', () => {
    expect(problemsOf('limit=0')).toEqual(['limit:minimum'])
    expect(problemsOf('limit=101')).toEqual(['limit:maximum'])
    expect(problemsOf('limit=ten')).toEqual(['limit:type'])
    expect(problemsOf('limit=1.5')).toEqual(['limit:type'])
    expect(problemsOf('sort=cheapest')).toEqual(['sort:enum'])
    expect(problemsOf('yearFrom=1800')).toEqual(['yearFrom:minimum'])
    expect(problemsOf('priceMin=-1')).toEqual(['priceMin:minimum'])
    expect(problemsOf('priceMax=9007199254740992')).toEqual(['priceMax:maximum'])
    expect(problemsOf('manufacturer=')).toEqual(['manufacturer:minLength'])
    expect(problemsOf('manufacturer=%20')).toEqual(['manufacturer:pattern'])
    expect(problemsOf('manufacturer=%C2%85')).toEqual(['manufacturer:pattern'])
    expect(problemsOf('model=Golf%0A')).toEqual(['model:pattern'])
    expect(problemsOf('limit=%205')).toEqual(['limit:type'])
    expect(problemsOf(`model=${'x'.repeat(65)}`)).toEqual(['model:maxLength'])
    expect(problemsOf(`model=${encodeURIComponent('\u{1F697}'.repeat(65))}`)).toEqual(['model:maxLength'])
    expect(problemsOf('cursor=abc')).toEqual(['cursor:format'])
    expect(problemsOf('manufactuer=Renault')).toEqual(['manufactuer:additionalProperties'])
    expect(problemsOf('limit=1&limit=2')).toEqual(['limit:maxItems'])
    expect(problemsOf('limit=0&sort=x&priceMin=a')).toEqual(['sort:enum', 'limit:minimum', 'priceMin:type'])
  })

  test('names are counted in code points, as the contracts count them: 64 emoji fit', () => {
    expect(parse(`model=${encodeURIComponent('\u{1F697}'.repeat(64))}`).model).toHaveLength(128)
  })

  test('an empty range (yearFrom > yearTo, priceMin > priceMax) is a query, not an error', () => {
    expect(parse('yearFrom=2020&yearTo=2010&priceMin=10&priceMax=5')).toMatchObject({
      yearFrom: 2020,
      yearTo: 2010,
      priceMin: 10,
      priceMax: 5,
    })
  })
})
