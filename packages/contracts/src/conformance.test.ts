/**
 * Runs the whole conformance corpus through Ajv against the generated schema files, as the services
 * validate, and checks that the corpus covers every rule. The estimator's pytest runs the same corpus
 * through Python's validators (estimator/tests/test_conformance.py); together they pin one meaning.
 */
import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { GENERATED_FILES } from './artifacts'
import { type ConformanceCase, leaves, loadCorpus, missingCases, withField } from './conformance'
import { packageRoot } from './generate'
import { compileJsonSchema } from './validate'

const corpus = loadCorpus()
const schemaNames = GENERATED_FILES.map(({ file }) => file.replace(/^schemas\//, '').replace(/\.json$/, ''))
const schemaOf = (name: string) =>
  JSON.parse(readFileSync(join(packageRoot, 'schemas', `${name}.json`), 'utf8')) as Record<string, unknown>

const show = (c: ConformanceCase) =>
  `${c.schema} ${c.field} = ${JSON.stringify(c.value)} (${c.why}): expected ${c.valid ? 'valid' : 'invalid'}`

test('the corpus holds hundreds of cases, for every generated schema', () => {
  console.log(`conformance corpus: ${corpus.cases.length} cases over ${schemaNames.length} schemas (Ajv)`)
  expect(corpus.cases.length).toBeGreaterThan(500)
  expect(Object.keys(corpus.documents).sort()).toEqual([...schemaNames].sort())
})

test('lone surrogates survive JSON parsing as one UTF-16 unit (the corpus can only write them as escapes)', () => {
  const lone = corpus.cases.find((c) => c.why === 'lone high surrogate')
  expect(lone?.value).toBe('\ud800')
  expect([String(lone?.value).length, String(lone?.value).charCodeAt(0)]).toEqual([1, 0xd800])
})

describe.each(schemaNames)('schemas/%s.json', (name) => {
  const validate = compileJsonSchema(schemaOf(name))
  const cases = corpus.cases.filter((c) => c.schema === name)

  test('its base document is valid', () => {
    expect(validate(corpus.documents[name]), JSON.stringify(validate.errors)).toBe(true)
  })

  test('Ajv reaches the corpus verdict on every case', () => {
    const wrong = cases.filter(
      (c) => validate(withField(corpus.documents[name], c.field, c.value)) !== c.valid,
    )
    expect(wrong.map(show)).toEqual([])
    expect(cases.length).toBeGreaterThan(0)
  })

  // A rule added to a schema without cases at and past it fails here, naming the field and what is missing.
  test('every constrained property has corpus cases at and past each rule', () => {
    const gaps: string[] = []
    for (const [field, leaf] of leaves(schemaOf(name))) {
      const missing = missingCases(
        leaf,
        cases.filter((c) => c.field === field),
      )
      if (missing.length > 0) gaps.push(`${field}: ${missing.join('; ')}`)
    }
    expect(gaps).toEqual([])
  })
})
