/** The registry as clients see it: through nginx, one store shared by three instances, BACKWARD checks. */
import { describe, expect, test } from 'bun:test'
import { randomUUID } from 'node:crypto'
import { stackEnv, waitFor } from '../../packages/testing/src/index'
import { call, register, vehicleSchema } from './registry-http'

const env = stackEnv()
const proxy = env.SCHEMA_REGISTRY_URL
const instances = [1, 2, 3].map((id) => {
  const url = env[`SCHEMA_REGISTRY_INSTANCE_${id}`]
  if (url === undefined)
    throw new Error(`stack.env lacks SCHEMA_REGISTRY_INSTANCE_${id}: run \`bun run stack up\``)
  return url
})

describe('schema registry behind nginx', () => {
  test('a JSON schema registered through nginx is readable from each instance directly', async () => {
    const subject = `stack-test-${randomUUID()}-value`
    const registered = await register(proxy, subject, vehicleSchema())
    expect(registered.status, JSON.stringify(registered.body)).toBe(200)
    const id = registered.body.id
    expect(typeof id).toBe('number')
    for (const instance of instances) {
      // Instances replay the shared journal; a write through another one shows up within moments.
      const byId = await waitFor(
        `schema ${id} on ${instance}`,
        async () => {
          const answer = await call(`${instance}/schemas/ids/${id}`)
          return answer.status === 200 ? answer : undefined
        },
        { timeoutMs: 15_000 },
      )
      expect(JSON.parse(String(byId.body.schema))).toEqual(JSON.parse(vehicleSchema()))
      const latest = await call(`${instance}/subjects/${subject}/versions/latest`)
      expect(latest.body).toMatchObject({ subject, version: 1, id })
    }
  })

  test('BACKWARD refuses an incompatible change with 409; a compatible one becomes version 2', async () => {
    const subject = `stack-test-${randomUUID()}-value`
    expect((await register(proxy, subject, vehicleSchema())).status).toBe(200)
    // Changing a field's type breaks readers of the old data.
    const breaking = vehicleSchema({ year: { type: 'string' } })
    const refused = await register(proxy, subject, breaking)
    expect(refused.status, JSON.stringify(refused.body)).toBe(409)
    expect(refused.contentType).toContain('json')
    // Adding an optional property to a closed object is compatible.
    const compatible = await register(proxy, subject, vehicleSchema({ colour: { type: 'string' } }))
    expect(compatible.status, JSON.stringify(compatible.body)).toBe(200)
    const versions = await call(`${proxy}/subjects/${subject}/versions`)
    expect(versions.body).toEqual([1, 2] as unknown as Record<string, unknown>)
  })

  test('errors produced by nginx itself are JSON, and /health answers JSON', async () => {
    const health = await fetch(env.SCHEMA_REGISTRY_PROXY_HEALTH_URL ?? `${new URL(proxy).origin}/health`)
    expect(health.headers.get('content-type')).toContain('application/json')
    expect(await health.json()).toMatchObject({ status: 'UP' })
    const tooLarge = await call(`${proxy}/subjects/x/versions`, {
      method: 'POST',
      body: 'x'.repeat(3 * 1024 * 1024),
    })
    expect(tooLarge.status).toBe(413)
    expect(tooLarge.contentType).toContain('application/json')
    expect(tooLarge.body).toMatchObject({ error_code: 413 })
  })
})
