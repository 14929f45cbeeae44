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
    const cursor = encodeCursor({ sort: 'price', key: 100, id: 'x' })
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
      after: { sort: 'price', key: 100, id: 'x' },
    })
  })

  test('each bad parameter is named, all at once', () => {
    expect(problemsOf('limit=0')).toEqual(['limit:minimum'])
    expect(problemsOf('limit=101')).toEqual(['limit:maximum'])
    expect(problemsOf('limit=ten')).toEqual(['limit:type'])
    expect(problemsOf('limit=1.5')).toEqual(['limit:type'])
    expect(problemsOf('sort=cheapest')).toEqual(['sort:enum'])
    expect(problemsOf('yearFrom=1800')).toEqual(['yearFrom:minimum'])
    expect(problemsOf('yearFrom=2020&yearTo=2010')).toEqual(['yearTo:minimum'])
    expect(problemsOf('priceMin=-1')).toEqual(['priceMin:minimum'])
    expect(problemsOf('priceMin=10&priceMax=5')).toEqual(['priceMax:minimum'])
    expect(problemsOf('manufacturer=%20')).toEqual(['manufacturer:minLength'])
    expect(problemsOf(`model=${'x'.repeat(65)}`)).toEqual(['model:maxLength'])
    expect(problemsOf('cursor=abc')).toEqual(['cursor:format'])
    expect(problemsOf('manufactuer=Renault')).toEqual(['manufactuer:additionalProperties'])
    expect(problemsOf('limit=1&limit=2')).toEqual(['limit:maxItems'])
    expect(problemsOf('limit=0&sort=x&priceMin=a')).toEqual(['sort:enum', 'limit:minimum', 'priceMin:type'])
  })

  test('a cursor of another sort is refused, naming the cursor', () => {
    const cursor = encodeCursor({ sort: 'newest', key: 1, id: 'x' })
    expect(problemsOf(`sort=price&cursor=${cursor}`)).toEqual(['cursor:format'])
  })
})
