import { expect, test } from 'bun:test'
import { createReadiness } from './health'
import { createLogger } from './logger'
import { createShutdown } from './shutdown'

test('marks not ready, drains the server, runs closers in order, even when one fails', async () => {
  const steps: string[] = []
  const lines: string[] = []
  const readiness = createReadiness()
  const shutdown = createShutdown({
    logger: createLogger({ service: 't', write: (l) => lines.push(l) }),
    readiness,
    exit: () => steps.push('exit'),
  })
  shutdown.setServer({
    async stop() {
      steps.push(`stop (shutting down: ${readiness.shuttingDown})`)
    },
  })
  shutdown.onClose('relay', async () => {
    steps.push('relay')
  })
  shutdown.onClose('broken', () => {
    throw new Error('nope')
  })
  shutdown.onClose('pool', () => {
    steps.push('pool')
  })
  await Promise.all([shutdown.run('test'), shutdown.run('again')])
  expect(steps).toEqual(['stop (shutting down: true)', 'relay', 'pool'])
  expect(lines.some((l) => l.includes('shutdown.close_failed') && l.includes('broken'))).toBe(true)
})

test('a server that does not drain in time has its connections cut', async () => {
  const calls: (boolean | undefined)[] = []
  const shutdown = createShutdown({
    logger: createLogger({ service: 't', write: () => {} }),
    drainTimeoutMs: 20,
  })
  shutdown.setServer({
    stop(force) {
      calls.push(force)
      return force ? Promise.resolve() : new Promise(() => {})
    },
  })
  await shutdown.run('test')
  expect(calls).toEqual([false, true])
})

test('a closer that hangs is abandoned after its timeout', async () => {
  const shutdown = createShutdown({
    logger: createLogger({ service: 't', write: () => {} }),
    closerTimeoutMs: 20,
  })
  let after = false
  shutdown.onClose('stuck', () => new Promise(() => {}))
  shutdown.onClose('next', () => {
    after = true
  })
  await shutdown.run('test')
  expect(after).toBe(true)
})
