import { expect, test } from 'bun:test'
import { createLogger } from './logger'

test('JSON lines with time, level, service, event, message, extra fields and child fields', () => {
  const lines: string[] = []
  const logger = createLogger({ service: 'svc', level: 'info', write: (l) => lines.push(l) })
  logger.debug('x.debug', 'hidden')
  logger.info('x.info', 'hello', { count: 2 })
  logger.child({ requestId: 'r1' }).error('x.error', 'boom', { error: new Error('bad thing') })
  expect(lines).toHaveLength(2)
  expect(lines.every((l) => l.endsWith('\n'))).toBe(true)
  const [first, second] = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  expect(Object.keys(first ?? {}).slice(0, 5)).toEqual(['time', 'level', 'service', 'event', 'message'])
  expect(first).toMatchObject({ level: 'info', service: 'svc', event: 'x.info', message: 'hello', count: 2 })
  expect(new Date(String(first?.time)).toISOString()).toBe(String(first?.time))
  expect(second).toMatchObject({
    level: 'error',
    requestId: 'r1',
    error: { name: 'Error', message: 'bad thing' },
  })
})

test('fixed keys cannot be overwritten by fields', () => {
  const lines: string[] = []
  const logger = createLogger({ service: 'svc', write: (l) => lines.push(l) })
  logger.warn('x.warn', 'msg', { service: 'other', level: 'debug' })
  expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ service: 'svc', level: 'warn' })
})
