/** One registry instance down: nginx keeps serving reads and writes from the other two. */
import { afterAll, describe, expect, test } from 'bun:test'
import { randomUUID } from 'node:crypto'
import { stackEnv, waitFor } from '../../packages/testing/src/index'
import { startComponent, status, stopComponent } from './control'
import { call, register, vehicleSchema } from './registry-http'

const env = stackEnv()
const proxy = env.SCHEMA_REGISTRY_URL
const VICTIM = 'registry-2'

afterAll(async () => {
  // Whatever happened, leave the stack whole for everyone else.
  await startComponent(VICTIM)
}, 180_000)

describe('schema registry with one instance stopped', () => {
  test('nginx still serves reads and writes, and the instance catches up after its restart', async () => {
    const subject = `stack-fault-${randomUUID()}-value`
    expect((await register(proxy, subject, vehicleSchema())).status).toBe(200)

    const outcome = await stopComponent(VICTIM, { signal: 'SIGKILL' })
    expect(outcome).toContain('SIGKILL')
    const [victim] = (await status()).filter((entry) => entry.name === VICTIM)
    expect(victim?.state).toBe('stopped')

    // Round robin over three upstreams: nine requests each way certainly include the stopped one.
    const seen: string[] = []
    // Each version adds one optional property to the last (compatible under BACKWARD).
    const fields: Record<string, unknown> = {}
    for (let round = 0; round < 9; round++) {
      const read = await call(`${proxy}/subjects/${subject}/versions/1`)
      seen.push(`read ${read.status}`)
      expect(read.status, seen.join(', ')).toBe(200)
      fields[`field${round}`] = { type: 'string' }
      const written = await register(proxy, subject, vehicleSchema(fields))
      seen.push(`write ${written.status}`)
      expect(written.status, `${seen.join(', ')}: ${JSON.stringify(written.body)}`).toBe(200)
    }
    // The instances share one Kafka journal and each applies it on its own: a read balanced to another
    // instance than the write may lag it by a few milliseconds, so wait for the last write to be seen.
    const versions = await waitFor(
      'every version to be listed through nginx',
      async () => {
        const answer = await call(`${proxy}/subjects/${subject}/versions`)
        return Array.isArray(answer.body) && answer.body.length === 10 ? answer.body : undefined
      },
      { timeoutMs: 30_000 },
    )
    expect(versions).toHaveLength(10)

    await startComponent(VICTIM)
    const direct = env.SCHEMA_REGISTRY_INSTANCE_2 as string
    const caughtUp = await waitFor(
      `${VICTIM} to replay the writes made while it was down`,
      async () => {
        const answer = await call(`${direct}/subjects/${subject}/versions`)
        return Array.isArray(answer.body) && answer.body.length === 10 ? answer.body : undefined
      },
      { timeoutMs: 60_000 },
    )
    expect(caughtUp).toHaveLength(10)
  }, 180_000)
})
