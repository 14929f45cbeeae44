import { afterEach, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { findByMarker, ownsPid } from './process-marker'
import { Processes } from './processes'

const dirs: string[] = []
function processes() {
  const dir = mkdtempSync(join(tmpdir(), 'stack-processes-'))
  dirs.push(dir)
  return new Processes(dir)
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const sleeper = (marker: string) => ({ argv: ['sleep', '60'], cwd: tmpdir(), marker })

test('a started process is recorded, owned by its marker, and stopped by its pid', async () => {
  const stack = processes()
  const marker = `test-${crypto.randomUUID()}`
  const pid = await stack.start('sleeper', sleeper(marker))
  expect(stack.state('sleeper')).toEqual({ state: 'running', pid })
  // `sleep 60` does not carry the marker in its command line: the launch environment does.
  expect(ownsPid(pid, marker)).toBe(true)
  expect(ownsPid(pid, `${marker}-other`)).toBe(false)
  expect(await stack.stop('sleeper')).toBe(`stopped pid ${pid} (SIGTERM)`)
  expect(stack.state('sleeper')).toEqual({ state: 'stopped' })
  expect(ownsPid(pid, marker)).toBe(false)
})

test('a pid file whose process is someone else is stale, and stop never signals that process', async () => {
  const stack = processes()
  await stack.start('sleeper', sleeper(`test-${crypto.randomUUID()}`))
  await stack.stop('sleeper', { signal: 'SIGKILL' })
  // Our own pid, recorded under a marker we do not carry: a recycled pid after a crash.
  writeFileSync(
    stack.pidFile('sleeper'),
    JSON.stringify({ pid: process.pid, marker: 'not-us', startedAt: 'x' }),
  )
  expect(stack.state('sleeper')).toEqual({ state: 'stale', pid: process.pid })
  expect(await stack.stop('sleeper')).toContain('stale pid file removed')
  expect(stack.state('sleeper')).toEqual({ state: 'stopped' })
})

test('a garbage pid file is stale; clearStale removes it', async () => {
  const stack = processes()
  await stack.start('sleeper', sleeper(`test-${crypto.randomUUID()}`))
  await stack.stop('sleeper', { signal: 'SIGKILL' })
  writeFileSync(stack.pidFile('sleeper'), '{"pid": 4')
  expect(stack.state('sleeper').state).toBe('stale')
  expect(await stack.clearStale('sleeper')).toBe(true)
  expect(stack.state('sleeper')).toEqual({ state: 'stopped' })
})

test('a running process that lost its pid file is found by its marker and adopted', async () => {
  const stack = processes()
  const marker = `test-${crypto.randomUUID()}`
  const pid = await stack.start('sleeper', sleeper(marker))
  rmSync(stack.pidFile('sleeper'))
  expect(stack.state('sleeper')).toEqual({ state: 'stopped' })
  expect(findByMarker(marker)).toBe(pid)
  expect(stack.adopt('sleeper', marker)).toBe(pid)
  expect(stack.state('sleeper')).toEqual({ state: 'running', pid })
  await stack.stop('sleeper', { signal: 'SIGKILL' })
  expect(findByMarker(marker)).toBeUndefined()
})

test('SIGTERM escalates to SIGKILL after the grace period', async () => {
  const stack = processes()
  const marker = `test-${crypto.randomUUID()}`
  // A shell that ignores SIGTERM.
  await stack.start('stubborn', {
    argv: ['bash', '-c', 'trap "" TERM; sleep 60 & wait'],
    cwd: tmpdir(),
    marker,
  })
  await Bun.sleep(200)
  expect(await stack.stop('stubborn', { graceMs: 300 })).toContain('(SIGKILL)')
  expect(findByMarker(marker)).toBeUndefined()
})
