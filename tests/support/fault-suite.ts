/**
 * The system of one fault file: the stack is checked whole (and mended) first, the system started with
 * the file's options, and stopped after its cases.
 */
import { afterAll, beforeAll } from 'bun:test'
import { stackEnv } from '../../packages/testing/src/index'
import { restoreStack } from './stack-faults'
import { type System, type SystemOptions, startSystem } from './system'

export function faultSystem(name: string, options: SystemOptions = {}): () => System {
  let system: System | undefined
  const say = (line: string) => console.log(`[${name}] ${line}`)
  beforeAll(async () => {
    await restoreStack(stackEnv().KAFKA_BROKERS, say)
    system = await startSystem({
      purpose: `tests/faults ${name}`,
      estimateDelaySeconds: 0,
      // A killed estimator's partitions move after 10 s instead of 30 s.
      estimatorSessionTimeoutMs: 10_000,
      // As deployed (compose: restart unless-stopped), a service that exits is started again.
      supervise: true,
      say,
      ...options,
    })
  }, 900_000) // stack restore, up to 10 min waiting for another system run, the start
  afterAll(async () => {
    await system?.stop()
  }, 120_000)
  return () => {
    if (system === undefined) throw new Error(`the system of ${name} did not start (see beforeAll)`)
    return system
  }
}
