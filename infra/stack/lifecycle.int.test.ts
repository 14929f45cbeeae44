/**
 * The whole stack's lifecycle: `down` leaves none of its processes; `up` after a crash (every process
 * killed with SIGKILL, pid files left behind, one of them garbage, one process running without its pid
 * file, a half-written env file) recovers by itself.
 *
 * Destructive for everyone using the stack, so it runs only when STACK_LIFECYCLE_TESTS=1 (the test
 * command sets it and runs this file last). Point it at a second stack to try it beside the shared one:
 *   STACK_DIR=/tmp/stack2 STACK_PORT_OFFSET=200 bun run stack up
 *   STACK_LIFECYCLE_TESTS=1 STACK_DIR=/tmp/stack2 STACK_PORT_OFFSET=200 \
 *     STACK_ENV_FILE=/tmp/stack2/stack.env bun test infra/stack/lifecycle.int.test.ts
 */
import { describe, expect, test } from 'bun:test'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { clusterMetadata, stackCommand, stackEnv } from '../../packages/testing/src/index'
import { repoRoot } from './config'
import { envFile, openStack, status } from './control'
import { findByMarker } from './process-marker'

if (process.env.STACK_LIFECYCLE_TESTS !== '1') {
  throw new Error(
    'lifecycle.int.test.ts stops and restarts the whole stack: run it with STACK_LIFECYCLE_TESTS=1 (`bun run test` does, last)',
  )
}

const stack = openStack()

async function cli(...args: string[]) {
  const { code, stdout, stderr } = await stackCommand(args)
  return { code, output: stdout + stderr }
}

/** Every process that carries one of the stack's markers, as "name pid". */
function survivors(): string[] {
  return stack.components.flatMap((component) => {
    const pid = findByMarker(component.launch().marker)
    return pid === undefined ? [] : [`${component.name} ${pid}`]
  })
}

async function portsInUse(): Promise<number[]> {
  const used: number[] = []
  for (const port of stack.components.flatMap((component) => component.ports)) {
    try {
      const socket = await Bun.connect({ hostname: '127.0.0.1', port, socket: { data: () => {} } })
      socket.end()
      used.push(port)
    } catch {
      // Refused: free, as it should be.
    }
  }
  return used
}

async function expectAllReady() {
  const entries = await status(stack)
  const notReady = entries.filter((entry) => entry.state !== 'running' || entry.ready === undefined)
  expect(notReady.map((entry) => `${entry.name}: ${entry.state} ${entry.problem ?? ''}`)).toEqual([])
  const env = stackEnv(repoRoot)
  expect((await clusterMetadata(env.KAFKA_BROKERS)).brokers).toHaveLength(3)
}

describe('stack lifecycle', () => {
  test('down stops exactly its processes and frees every port; up brings everything back', async () => {
    const down = await cli('down')
    expect(down.code, down.output).toBe(0)
    expect(survivors()).toEqual([])
    expect(await portsInUse()).toEqual([])
    expect(existsSync(envFile(stack))).toBe(false)

    const up = await cli('up')
    expect(up.code, up.output).toBe(0)
    await expectAllReady()
  }, 600_000)

  test('up after a crash: stale and garbage pid files, an unrecorded survivor, a half-written env file', async () => {
    const before = await status(stack)
    const orphan = before.find((entry) => entry.name === 'zookeeper-1')?.pid
    expect(orphan).toBeDefined()
    // The crash: everything but zookeeper-1 dies with SIGKILL (whole process groups, like a power cut
    // for that tree), and the pid files stay behind.
    for (const entry of before) {
      if (entry.name === 'zookeeper-1' || entry.pid === undefined) continue
      process.kill(-entry.pid, 'SIGKILL')
    }
    rmSync(stack.processes.pidFile('zookeeper-1'))
    writeFileSync(stack.processes.pidFile('kafka-2'), '{"pid": 12')
    writeFileSync(`${envFile(stack)}.tmp`, 'KAFKA_BROK')
    await Bun.sleep(500)
    expect((await status(stack)).filter((entry) => entry.state === 'stale').length).toBeGreaterThan(5)

    const up = await cli('up')
    expect(up.code, up.output).toBe(0)
    expect(up.output).toContain('stale pid file')
    expect(up.output).toContain(`zookeeper-1: found running without a pid file (pid ${orphan})`)
    await expectAllReady()
    expect(readFileSync(envFile(stack), 'utf8')).toContain('KAFKA_BROKERS=')
  }, 600_000)
})
