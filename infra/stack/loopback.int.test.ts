/**
 * Every socket of the stack's processes is on loopback: nothing listens on a public address and nothing
 * is connected outward (telemetry, update checks). A snapshot, taken after the other suites have
 * exercised the stack; the switches themselves are in the launch commands (FerretDB --telemetry=disable
 * and DO_NOT_TRACK=1, the registry's usage telemetry off in infra/registry/run.sh).
 */
import { expect, test } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { stackEnv } from '../../packages/testing/src/index'
import { status } from './control'

stackEnv()

/** Pids of each component's process group (workers and backends included). */
function groupMembers(leader: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
        return pid === leader || Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === leader
      } catch {
        return false
      }
    })
}

const LOCAL = /^(127\.0\.0\.1|\[::1\]|\[::ffff:127\.0\.0\.1\]):\d+$/
const PEER = /^(127\.0\.0\.1|\[::1\]|\[::ffff:127\.0\.0\.1\]|\*|0\.0\.0\.0|\[::\]):(\d+|\*)$/

test('the stack listens and connects on loopback only', async () => {
  const components = (await status()).filter((entry) => entry.state === 'running' && entry.pid !== undefined)
  expect(components.length).toBe(12)
  const owner = new Map<number, string>()
  for (const component of components) {
    for (const pid of groupMembers(component.pid as number)) owner.set(pid, component.name)
  }
  const ss = Bun.spawnSync(['ss', '-tunapH'])
  expect(ss.exitCode).toBe(0)
  const offending: string[] = []
  let sockets = 0
  for (const line of ss.stdout.toString().split('\n')) {
    const pids = [...line.matchAll(/pid=(\d+)/g)].map((match) => Number(match[1]))
    const name = pids.map((pid) => owner.get(pid)).find((found) => found !== undefined)
    if (name === undefined) continue
    sockets++
    const [, , , , local, peer] = line.trim().split(/\s+/)
    // Bound to loopback; the peer is loopback too, or a wildcard for a listening socket.
    if (!LOCAL.test(local ?? '') || !PEER.test(peer ?? '')) offending.push(`${name}: ${line.trim()}`)
  }
  expect(sockets).toBeGreaterThan(12)
  expect(offending).toEqual([])
})
