/**
 * Small helpers over the docker CLI for the image smoke run (infra/images/smoke.ts): every call is
 * logged with its duration, and a failing call throws with what docker said.
 */
import { runCommand } from '../command'

export interface Run {
  code: number
  stdout: string
  stderr: string
  seconds: number
}

let dockerHost = ''

/** Points every later call at the engine started by infra/images/engine.sh. */
export function useEngine(host: string): void {
  dockerHost = host
}

export async function sh(argv: string[], options: { env?: Record<string, string>; quiet?: boolean } = {}) {
  const started = performance.now()
  const { code, out, err } = await runCommand(argv, {
    env: { ...(dockerHost ? { DOCKER_HOST: dockerHost } : {}), ...options.env },
  })
  return { code, stdout: out, stderr: err, seconds: (performance.now() - started) / 1000 } satisfies Run
}

/** Runs a command that must succeed; returns its stdout. */
export async function must(argv: string[], env?: Record<string, string>): Promise<string> {
  const run = await sh(argv, { env })
  if (run.code !== 0) {
    throw new Error(
      `${argv.join(' ')} exited ${run.code}:\n${run.stderr.slice(-3000)}${run.stdout.slice(-2000)}`,
    )
  }
  return run.stdout
}

export const docker = (...args: string[]) => must(['docker', ...args])

/** `docker inspect` of one object, as parsed JSON. */
export async function inspect(name: string): Promise<Record<string, unknown>> {
  const run = await sh(['docker', 'inspect', name])
  if (run.code !== 0) return {}
  return (JSON.parse(run.stdout) as Record<string, unknown>[])[0] ?? {}
}

interface ContainerState {
  Status?: string
  ExitCode?: number
  Health?: { Status?: string; Log?: { ExitCode: number; Output: string }[] }
}

export async function state(container: string): Promise<ContainerState> {
  return ((await inspect(container)).State ?? {}) as ContainerState
}

/** Image size in MB as the engine reports it (the unpacked layers). */
export async function imageSizeMb(image: string): Promise<number> {
  const size = (await inspect(image)).Size
  return typeof size === 'number' ? Math.round(size / 1e6) : Number.NaN
}

/** Container environment as `-e` arguments (values with `=` are fine: docker splits at the first). */
export function envArgs(env: Record<string, string>): string[] {
  return Object.entries(env).flatMap(([key, value]) => ['-e', `${key}=${value}`])
}

/** Removes containers by exact name, running or not; absent ones are fine. */
export async function removeContainers(names: string[]): Promise<void> {
  for (const name of names) await sh(['docker', 'rm', '-f', '-v', name])
}

/** Waits until the container's own HEALTHCHECK says healthy; throws with its health log and logs. */
export async function waitHealthy(container: string, timeoutMs: number): Promise<number> {
  const started = performance.now()
  for (;;) {
    const now = await state(container)
    if (now.Health?.Status === 'healthy') return (performance.now() - started) / 1000
    if (now.Status === 'exited' || performance.now() - started > timeoutMs) {
      const logs = await sh(['docker', 'logs', '--tail', '30', container])
      const probes = (now.Health?.Log ?? [])
        .slice(-3)
        .map((entry) => `exit ${entry.ExitCode}: ${entry.Output}`)
      throw new Error(
        `${container} is ${now.Status}/${now.Health?.Status ?? 'no healthcheck'} after ` +
          `${Math.round((performance.now() - started) / 1000)} s\nlast probes:\n${probes.join('\n')}\n` +
          `logs:\n${logs.stdout}${logs.stderr}`,
      )
    }
    await Bun.sleep(1_000)
  }
}

/** Waits for a one-shot container to exit; returns its exit code and logs. */
export async function waitExit(container: string, timeoutMs: number) {
  const started = performance.now()
  for (;;) {
    const now = await state(container)
    if (now.Status === 'exited') {
      const logs = await sh(['docker', 'logs', container])
      return {
        code: now.ExitCode ?? -1,
        logs: `${logs.stdout}${logs.stderr}`,
        seconds: (performance.now() - started) / 1000,
      }
    }
    if (performance.now() - started > timeoutMs)
      throw new Error(`${container} still ${now.Status} after ${timeoutMs} ms`)
    await Bun.sleep(500)
  }
}
