import { describe, expect, test } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { GENERATED_FILES } from './artifacts'
import { packageRoot } from './generate'
import { DRAFT_07, toJsonSchemaText } from './json-schema'
import { TOPICS_FILE, topicsFileText } from './topics'
import { compileJsonSchema } from './validate'

type Node = { [key: string]: unknown }

/** Every schema object in a tree, with its path. */
function* walk(node: unknown, path = '#'): Generator<[string, Node]> {
  if (Array.isArray(node)) {
    for (const [i, item] of node.entries()) yield* walk(item, `${path}/${i}`)
  } else if (node !== null && typeof node === 'object') {
    yield [path, node as Node]
    for (const [key, child] of Object.entries(node)) yield* walk(child, `${path}/${key}`)
  }
}

describe('generated JSON Schema files', () => {
  test.each(GENERATED_FILES.map(({ file, schema }) => [file, schema] as const))(
    '%s is up to date with the TypeBox source (run `bun run --filter @vehicles/contracts generate`)',
    (file, schema) => {
      const committed = readFileSync(join(packageRoot, file), 'utf8')
      expect(committed).toBe(toJsonSchemaText(schema))
    },
  )

  test(`${TOPICS_FILE} is up to date with src/topics.ts (run \`bun run --filter @vehicles/contracts generate\`)`, () => {
    const committed = readFileSync(join(packageRoot, '..', '..', TOPICS_FILE), 'utf8')
    expect(committed).toBe(topicsFileText())
  })

  test('no stray file sits in schemas/ (a renamed schema leaves none behind)', () => {
    const onDisk = (function list(dir: string): string[] {
      return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory() ? list(join(dir, entry.name)) : [relative(packageRoot, join(dir, entry.name))],
      )
    })(join(packageRoot, 'schemas'))
    expect(onDisk.sort()).toEqual(GENERATED_FILES.map(({ file }) => file).sort())
  })

  test.each(GENERATED_FILES.map(({ file }) => [file] as const))(
    '%s is draft-07, self-contained, closed, and compiles',
    (file) => {
      const text = readFileSync(join(packageRoot, file), 'utf8')
      expect(text.endsWith('}\n')).toBe(true)
      const schema = JSON.parse(text) as Node
      expect(schema.$schema).toBe(DRAFT_07)
      expect(typeof schema.$id).toBe('string')
      for (const [path, node] of walk(schema)) {
        // Python reads the event files as they are: no $ref to resolve, no nested $id to confuse it.
        expect({ path, ref: node.$ref }).toEqual({ path, ref: undefined })
        if (path !== '#') expect({ path, id: node.$id }).toEqual({ path, id: undefined })
        if (node.type === 'object')
          expect({ path, closed: node.additionalProperties }).toEqual({ path, closed: false })
      }
      expect(() => compileJsonSchema(schema)).not.toThrow()
    },
  )
})
