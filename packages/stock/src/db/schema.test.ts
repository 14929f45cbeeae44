/**
 * The committed migrations match `schema.ts`: drizzle-kit, run on a copy of `drizzle/`, finds nothing
 * to generate. Fails when someone edits the schema and forgets `bun run --filter stock generate`.
 */
import { expect, test } from 'bun:test'
import { cpSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { runCommand } from '@vehicles/testing'

const PACKAGE_DIR = join(import.meta.dir, '..', '..')

test('drizzle-kit finds no schema change that is missing from drizzle/', async () => {
  // drizzle-kit only takes an output folder relative to its working directory (it prefixes "./").
  const name = `.drizzle-check-${process.pid}-${Date.now()}`
  const out = join(PACKAGE_DIR, name)
  try {
    cpSync(join(PACKAGE_DIR, 'drizzle'), out, { recursive: true })
    const before = readdirSync(out).sort()
    const { stdout, stderr, code } = await runCommand(
      [
        'bunx',
        'drizzle-kit',
        'generate',
        '--dialect',
        'postgresql',
        '--schema',
        './src/db/schema.ts',
        '--out',
        name,
      ],
      { cwd: PACKAGE_DIR },
    )
    // drizzle-kit exits 0 even when it failed: its stderr is the verdict.
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' })
    expect(stdout).toContain('No schema changes')
    expect(readdirSync(out).sort()).toEqual(before)
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
}, 60_000)
