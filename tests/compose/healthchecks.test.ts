/**
 * The registry healthcheck is a bash-only HTTP request (the Apicurio image is not known to ship curl);
 * run it against a local server that answers like Quarkus' readiness route.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { healthcheckArgv, retarget, runCommand } from './healthcheck-commands'

let ready = true
const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  fetch(request) {
    if (new URL(request.url).pathname !== '/health/ready') return new Response('{}', { status: 404 })
    return Response.json({ status: ready ? 'UP' : 'DOWN' }, { status: ready ? 200 : 503 })
  },
})
afterAll(() => server.stop(true))

describe('registry healthcheck command', () => {
  const argv = () =>
    retarget(healthcheckArgv('schema-registry-1'), '127.0.0.1/9000', `127.0.0.1/${server.port}`)

  test('passes when /health/ready answers 200', async () => {
    ready = true
    const run = await runCommand(argv())
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' })
  })

  test('fails when /health/ready answers 503', async () => {
    ready = false
    expect((await runCommand(argv())).code).not.toBe(0)
  })

  test('fails when nothing listens', async () => {
    const closed = retarget(healthcheckArgv('schema-registry-1'), '127.0.0.1/9000', '127.0.0.1/1')
    expect((await runCommand(closed)).code).not.toBe(0)
  })
})
