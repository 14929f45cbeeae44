import { expect, test } from 'bun:test'
import { packageOf, summarizeProfile } from './cpu-profile'

const profile = `# CPU Profile

## Hot Functions (Self Time)

| Self% | Self | Total% | Total | Function | Location |
|------:|-----:|-------:|------:|----------|----------|
| 50.0% | 30.0ms | 60.0% | 40.0ms | \`parse\` | \`/w/node_modules/.bun/postgres@3.4.9/node_modules/postgres/src/connection.js:10\` |
| 25.0% | 15.0ms | 25.0% | 15.0ms | \`handle\` | \`/w/packages/stock/src/vehicles/routes.ts:5\` |

## Files

| Self% | Self | File |
|------:|-----:|------|
| 50.0% | 30.0ms | \`/w/node_modules/.bun/postgres@3.4.9/node_modules/postgres/src/connection.js\` |
| 25.0% | 15.0ms | \`/w/packages/stock/src/vehicles/routes.ts\` |
| 15.0% | 9.0ms | \`/w/node_modules/.bun/elysia@1.4.30/node_modules/elysia/dist/index.mjs\` |
| 10.0% | 6000us | \`/w/node_modules/@sinclair/typebox/build/compiler.js\` |
`

test('files are grouped by package, the service by its workspace name', () => {
  expect(packageOf('/w/node_modules/.bun/postgres@3.4.9/node_modules/postgres/src/x.js')).toBe('postgres')
  expect(packageOf('/w/node_modules/@sinclair/typebox/build/compiler.js')).toBe('@sinclair/typebox')
  expect(packageOf('/w/packages/platform/src/logger.ts')).toBe('@vehicles/platform')
  expect(packageOf('')).toBe('(runtime: native code, GC, idle)')
})

test('self time is summed per package and the hot functions are kept', () => {
  const summary = summarizeProfile(profile)
  expect(summary.totalMs).toBeCloseTo(60)
  expect(summary.byPackage.map((p) => p.name)).toEqual([
    'postgres',
    '@vehicles/stock',
    'elysia',
    '@sinclair/typebox',
  ])
  expect(summary.byPackage[0]?.share).toBeCloseTo(0.5)
  expect(summary.hot[0]).toMatchObject({ fn: 'parse', ms: 30 })
  expect(summary.hot[1]?.location).toBe('packages/stock/src/vehicles/routes.ts:5')
})
