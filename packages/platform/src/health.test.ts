import { expect, test } from 'bun:test'
import { createReadiness } from './health'

test('ready when every check passes; a failing critical check is not_ready and names the failure', async () => {
  const readiness = createReadiness()
  readiness.register({ name: 'db', check: () => ({ ok: true }) })
  readiness.register({ name: 'cache', check: () => Promise.reject(new Error('refused')) })
  const report = await readiness.run()
  expect(report.status).toBe('not_ready')
  expect(report.checks.cache).toMatchObject({ ok: false, error: 'refused', critical: true })
  expect(report.checks.db?.ok).toBe(true)
})

test('a non-critical failure is degraded; a slow check times out', async () => {
  const readiness = createReadiness()
  readiness.register({ name: 'db', check: () => undefined })
  readiness.register({
    name: 'kafka',
    critical: false,
    timeoutMs: 20,
    check: () => new Promise(() => {}),
  })
  const started = Date.now()
  const report = await readiness.run()
  expect(Date.now() - started).toBeLessThan(1_000)
  expect(report.status).toBe('degraded')
  expect(report.checks.kafka).toMatchObject({ ok: false, error: 'no answer within 20 ms', critical: false })
})

test('not ready once shutdown started', async () => {
  const readiness = createReadiness()
  readiness.register({ name: 'db', check: () => undefined })
  readiness.markShuttingDown()
  expect(await readiness.run()).toMatchObject({ status: 'not_ready', shuttingDown: true })
})
