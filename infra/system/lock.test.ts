/** The one-system-per-stack lock: exclusive, waits, takes over from a dead holder, releases only its own. */
import { afterEach, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { acquireSystemLock } from './lock'

const dirs: string[] = []
const lockFile = () => {
  const dir = mkdtempSync(join(tmpdir(), 'system-lock-'))
  dirs.push(dir)
  return join(dir, 'run', 'system.lock')
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

test('a second run waits for the first and gets the lock once it is released', async () => {
  const file = lockFile()
  const release = await acquireSystemLock(file, 'first', 'test', 0, () => {})
  const said: string[] = []
  const second = acquireSystemLock(file, 'second', 'test', 10_000, (line) => said.push(line))
  await Bun.sleep(300)
  expect(JSON.parse(readFileSync(file, 'utf8')).runId).toBe('first')
  release()
  const releaseSecond = await second
  expect(JSON.parse(readFileSync(file, 'utf8')).runId).toBe('second')
  expect(said.join('\n')).toContain(`pid ${process.pid}`)
  releaseSecond()
  expect(existsSync(file)).toBe(false)
})

test('gives up after its wait with who holds the lock', async () => {
  const file = lockFile()
  const release = await acquireSystemLock(file, 'holder', 'a benchmark', 0, () => {})
  await expect(acquireSystemLock(file, 'late', 'test', 200, () => {})).rejects.toThrow(/a benchmark/)
  release()
})

test('takes over a lock whose holder process is gone', async () => {
  const file = lockFile()
  await acquireSystemLock(file, 'probe', 'test', 0, () => {}).then((release) => release())
  // A pid far above pid_max: no such process.
  writeFileSync(file, JSON.stringify({ pid: 2 ** 30, runId: 'crashed', purpose: 'x', startedAt: '' }))
  const release = await acquireSystemLock(file, 'new', 'test', 0, () => {})
  expect(JSON.parse(readFileSync(file, 'utf8')).runId).toBe('new')
  release()
})

test('a release never removes a lock another run holds now', async () => {
  const file = lockFile()
  const release = await acquireSystemLock(file, 'old', 'test', 0, () => {})
  writeFileSync(file, JSON.stringify({ pid: process.pid, runId: 'other', purpose: 'x', startedAt: '' }))
  release()
  expect(JSON.parse(readFileSync(file, 'utf8')).runId).toBe('other')
})
