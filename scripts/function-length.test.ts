import { expect, test } from 'bun:test'
import { longTypeScriptFunctions } from './function-length'

const body = (lines: number) => Array.from({ length: lines }, (_, i) => `  const v${i} = ${i}`).join('\n')

test('a function, method or arrow over the limit is named with its first line and length', () => {
  const text = [
    `function short() {\n${body(3)}\n}`,
    `export function long() {\n${body(5)}\n}`,
    `class Box {\n  method() {\n${body(5)}\n  }\n}`,
    `const arrow = () => {\n${body(5)}\n}`,
  ].join('\n')
  expect(longTypeScriptFunctions('x.ts', text, 6)).toEqual([
    { path: 'x.ts', line: 6, name: 'long', lines: 7 },
    { path: 'x.ts', line: 14, name: 'method', lines: 7 },
    { path: 'x.ts', line: 22, name: 'arrow', lines: 7 },
  ])
})

test('a closure counts inside its enclosing function, which is long because of it', () => {
  const text = `function outer() {\n  const inner = () => {\n${body(4)}\n  }\n  return inner\n}`
  expect(longTypeScriptFunctions('y.ts', text, 6)).toEqual([
    { path: 'y.ts', line: 1, name: 'outer', lines: 9 },
  ])
  expect(longTypeScriptFunctions('y.ts', text, 9)).toEqual([])
})
