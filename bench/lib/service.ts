/**
 * A benchmark candidate as a child process: started with its own log file and pid file (the system
 * harness's spawn helpers, so a leftover is recognised and a recycled pid never signalled), waited for
 * until a URL answers 200, stopped with SIGTERM (SIGKILL after a grace).
 */
import { join } from 'node:path'
import {
  baseEnv,
  freePort,
  killLeftover,
  type Spawned,
  spawnLogged,
  tail,
  terminate,
} from '../../infra/system/processes'
import { stackEnv } from '../../packages/testing/src/index'

export { freePort }

export interface Candidate {
  name: string
  pid: number
  url: string
  logFile: string
  stop(): Promise<string>
}

const stackDir = () => stackEnv().STACK_DIR ?? join(import.meta.dir, '..', '..', '.stack')

export async function startCandidate(spec: {
  name: string
  argv: string[]
  cwd: string
  env?: Record<string, string>
  port: number
  /** Answers 200 once the candidate serves (e.g. `/stock?limit=1`). */
  readyPath: string
  readyTimeoutMs?: number
}): Promise<Candidate> {
  const logFile = join(stackDir(), 'logs', `bench-${spec.name}.log`)
  const pidFile = join(stackDir(), 'run', `bench-${spec.name}.pid`)
  await killLeftover(pidFile)
  const spawned: Spawned = spawnLogged({
    argv: spec.argv,
    cwd: spec.cwd,
    env: { ...baseEnv(), ...spec.env },
    logFile,
    pidFile,
    marker: `bench-${spec.name}-${crypto.randomUUID().slice(0, 8)}`,
  })
  const url = `http://127.0.0.1:${spec.port}`
  const deadline = Date.now() + (spec.readyTimeoutMs ?? 60_000)
  let last = 'no answer yet'
  for (;;) {
    const code = spawned.exitCode()
    if (code !== undefined)
      throw new Error(`${spec.name} exited ${code} while starting; ${logFile}:\n${tail(logFile)}`)
    try {
      const response = await fetch(`${url}${spec.readyPath}`, { signal: AbortSignal.timeout(2_000) })
      await response.arrayBuffer()
      if (response.status === 200) break
      last = `HTTP ${response.status}`
    } catch (error) {
      last = error instanceof Error ? error.message : String(error)
    }
    if (Date.now() > deadline) {
      await terminate(spawned, 'SIGKILL', 5_000)
      throw new Error(
        `${spec.name} not ready at ${url}${spec.readyPath} (${last}); ${logFile}:\n${tail(logFile)}`,
      )
    }
    await Bun.sleep(200)
  }
  return {
    name: spec.name,
    pid: spawned.pid,
    url,
    logFile,
    stop: () => terminate(spawned, 'SIGTERM', 15_000),
  }
}
