/**
 * compose.yaml as `docker compose config` resolves it (anchors merged, `${VAR:-default}` interpolated),
 * for the static checks in this folder. Needs only the compose plugin (infra/compose/install-compose.sh),
 * run on its own as `docker-compose`: no engine, and no docker client either.
 */
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

export const repoRoot = resolve(import.meta.dir, '../..')

export interface DependsOn {
  condition: string
  required?: boolean
}

export interface PortMapping {
  target: number
  published?: string
  host_ip?: string
  protocol?: string
}

export interface Healthcheck {
  test?: string[]
  disable?: boolean
}

export interface VolumeMount {
  type: string
  source?: string
  target: string
  read_only?: boolean
}

export interface ComposeService {
  image?: string
  build?: { context: string; dockerfile: string; args?: Record<string, string> }
  pull_policy?: string
  restart?: string
  hostname?: string
  command?: string[] | null
  entrypoint?: string[] | null
  environment?: Record<string, string | null>
  depends_on?: Record<string, DependsOn>
  healthcheck?: Healthcheck
  ports?: PortMapping[]
  expose?: string[]
  network_mode?: string
  volumes?: VolumeMount[]
  tmpfs?: string[]
  profiles?: string[]
  deploy?: { resources?: { limits?: { memory?: string | number } } }
}

export interface ComposeModel {
  name: string
  services: Record<string, ComposeService>
  volumes?: Record<string, unknown>
}

export interface Run {
  code: number
  stdout: string
  stderr: string
}

/**
 * Runs `docker compose <args>` in the repository root with a minimal environment, so that variables
 * of the caller's shell cannot change the interpolation (compose reads the process environment too).
 * `envFile` replaces the root `.env` (`/dev/null`: the defaults written in compose.yaml only).
 */
export function compose(args: string[], envFile = '/dev/null'): Run {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' }
  for (const key of ['HOME', 'DOCKER_CONFIG']) {
    const value = process.env[key]
    if (value) env[key] = value
  }
  // The plugin started directly behaves as `docker compose`, so a machine without Docker needs no client.
  const plugin = join(
    process.env.DOCKER_CONFIG || join(homedir(), '.docker'),
    'cli-plugins',
    'docker-compose',
  )
  if (!existsSync(plugin))
    return { code: 127, stdout: '', stderr: `${plugin}: not found (unknown command)\n` }
  const child = Bun.spawnSync([plugin, '--env-file', envFile, ...args], {
    cwd: repoRoot,
    env,
    stdout: 'pipe',
    stderr: 'pipe',
  })
  return { code: child.exitCode ?? -1, stdout: child.stdout.toString(), stderr: child.stderr.toString() }
}

/** The resolved model, or an error that says how to get the compose plugin when it is missing. */
export function loadCompose(options: { envFile?: string; profiles?: string[] } = {}): ComposeModel {
  const profileArgs = (options.profiles ?? []).flatMap((profile) => ['--profile', profile])
  const run = compose([...profileArgs, 'config', '--format', 'json'], options.envFile)
  if (run.code !== 0) {
    const hint = /unknown command|not a docker command/i.test(run.stderr)
      ? '\n(the docker compose plugin is missing: run infra/compose/install-compose.sh)'
      : ''
    throw new Error(`docker compose config failed (exit ${run.code}):\n${run.stderr}${hint}`)
  }
  return JSON.parse(run.stdout) as ComposeModel
}

/** Services other containers wait on with `service_completed_successfully`: they run once and exit. */
export function oneShots(model: ComposeModel): Set<string> {
  const names = new Set<string>()
  for (const service of Object.values(model.services)) {
    for (const [name, dependency] of Object.entries(service.depends_on ?? {})) {
      if (dependency.condition === 'service_completed_successfully') names.add(name)
    }
  }
  return names
}

/** `KEY=value` lines of a dotenv-style file (comments and blank lines skipped). */
export function parseEnvFile(text: string): Record<string, string> {
  const values: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim())
    if (match?.[1] !== undefined) values[match[1]] = match[2] ?? ''
  }
  return values
}
