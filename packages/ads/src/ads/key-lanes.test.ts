import { expect, test } from 'bun:test'
import { KeyLanes } from './key-lanes'

test('tasks of one key run one at a time, in call order', async () => {
  const lanes = new KeyLanes()
  const events: string[] = []
  let running = 0
  let maxRunning = 0
  const task = (name: string, ms: number) => async () => {
    running++
    maxRunning = Math.max(maxRunning, running)
    events.push(`start ${name}`)
    await Bun.sleep(ms)
    events.push(`end ${name}`)
    running--
    return name
  }
  const results = await Promise.all([
    lanes.run('k', task('a', 20)),
    lanes.run('k', task('b', 1)),
    lanes.run('k', task('c', 5)),
  ])
  expect(results).toEqual(['a', 'b', 'c'])
  expect(maxRunning).toBe(1)
  expect(events).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c'])
})

test('different keys run concurrently', async () => {
  const lanes = new KeyLanes()
  let running = 0
  let maxRunning = 0
  const task = async () => {
    running++
    maxRunning = Math.max(maxRunning, running)
    await Bun.sleep(10)
    running--
  }
  await Promise.all([lanes.run('a', task), lanes.run('b', task), lanes.run('c', task)])
  expect(maxRunning).toBe(3)
})

test('a failed task does not block the next one of its key, and lanes are released', async () => {
  const lanes = new KeyLanes()
  const failed = lanes.run('k', async () => {
    throw new Error('boom')
  })
  const next = lanes.run('k', async () => 'ran')
  await expect(failed).rejects.toThrow('boom')
  expect(await next).toBe('ran')
  await Bun.sleep(0)
  expect(lanes.size).toBe(0)
})

test('runAll waits for every key it touches and holds them all until it settles', async () => {
  const lanes = new KeyLanes()
  const events: string[] = []
  const task = (name: string, ms: number) => async () => {
    events.push(`start ${name}`)
    await Bun.sleep(ms)
    events.push(`end ${name}`)
    return name
  }
  const results = await Promise.all([
    lanes.run('a', task('a1', 20)),
    lanes.run('b', task('b1', 5)),
    lanes.runAll(['a', 'b', 'a'], task('batch', 5)),
    lanes.run('b', task('b2', 1)),
    lanes.run('c', task('c1', 1)),
  ])
  expect(results).toEqual(['a1', 'b1', 'batch', 'b2', 'c1'])
  // The batch starts after both a1 and b1; b2 waits for the batch; c is independent.
  expect(events.indexOf('start batch')).toBeGreaterThan(events.indexOf('end a1'))
  expect(events.indexOf('start batch')).toBeGreaterThan(events.indexOf('end b1'))
  expect(events.indexOf('start b2')).toBeGreaterThan(events.indexOf('end batch'))
  expect(events.indexOf('start c1')).toBeLessThan(events.indexOf('end a1'))
  expect(lanes.size).toBe(0)
})
