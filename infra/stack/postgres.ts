/**
 * PostgreSQL 15 from Debian's package, with its own data dir under the stack dir and its own port.
 * PostgreSQL refuses to run as root, so when the CLI is root the server runs as the `postgres` system
 * user (setpriv execs in place, so the recorded pid is the postmaster's).
 */
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { mustRunCommand } from '../command'
import { type Component, singleton } from './component'
import type { StackConfig } from './config'
import { postgresReady } from './probes'

export const POSTGRES_USER = 'vehicles'
export const POSTGRES_PASSWORD = 'vehicles'
export const POSTGRES_DATABASE = 'vehicles'

interface SystemUser {
  uid: number
  gid: number
  home: string
}

function findSystemUser(name: string): SystemUser | undefined {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [user, , uid, gid, , home] = line.split(':')
    if (user === name) return { uid: Number(uid), gid: Number(gid), home: home ?? '/' }
  }
  return undefined
}

function systemUser(name: string): SystemUser {
  const found = findSystemUser(name)
  if (found !== undefined) return found
  throw new Error(
    `PostgreSQL cannot run as root and there is no '${name}' user: install postgresql-15 (it creates one)`,
  )
}

export function postgresUrl(config: StackConfig): string {
  return `postgres://${POSTGRES_USER}:${POSTGRES_PASSWORD}@127.0.0.1:${config.ports.postgres}/${POSTGRES_DATABASE}`
}

interface PostgresPaths {
  home: string
  data: string
  sockets: string
  /** Written only after initdb and CREATE DATABASE both finished: a data dir without it is half-made. */
  initialized: string
}

/** Whether `user` may enter `dir`: every existing folder on the way grants it the search bit. */
function reachable(dir: string, user: SystemUser): boolean {
  for (let path = resolve(dir); ; path = dirname(path)) {
    if (existsSync(path)) {
      const { mode, uid, gid } = statSync(path)
      const bit = uid === user.uid ? 0o100 : gid === user.gid ? 0o010 : 0o001
      if ((mode & bit) === 0) return false
    }
    if (path === '/') return true
  }
}

/**
 * The cluster's folder: `<stack dir>/postgres`, unless the server (run as `postgres` when the CLI is
 * root) cannot enter the stack dir, as with a clone under root's private home (/root is 0700). Then the
 * `postgres` user's own home holds it, one folder per stack dir.
 */
export function postgresHome(config: StackConfig): string {
  const inside = join(config.dir, 'postgres')
  const user = process.getuid?.() === 0 ? findSystemUser(config.postgresUser) : undefined
  if (user === undefined || reachable(config.dir, user)) return inside
  const id = new Bun.CryptoHasher('sha256').update(resolve(config.dir)).digest('hex').slice(0, 12)
  return join(user.home, 'vehicles-stacks', id)
}

function postgresPaths(config: StackConfig): PostgresPaths {
  const home = postgresHome(config)
  return {
    home,
    data: join(home, 'data'),
    sockets: join(home, 'run'),
    initialized: join(home, 'initialized'),
  }
}

/** The prefix that runs a PostgreSQL tool as its system user: PostgreSQL refuses to run as root. */
function dropPrivileges(config: StackConfig): string[] {
  if (process.getuid?.() !== 0) return []
  systemUser(config.postgresUser)
  return [
    'setpriv',
    `--reuid=${config.postgresUser}`,
    `--regid=${config.postgresUser}`,
    '--init-groups',
    '--',
  ]
}

function serverSettings(config: StackConfig, sockets: string): string[] {
  return [
    'listen_addresses=127.0.0.1',
    `port=${config.ports.postgres}`,
    `unix_socket_directories=${sockets}`,
    // Services, relays and parallel test files each hold pools.
    'max_connections=300',
    'shared_buffers=128MB',
    'logging_collector=off',
    'log_min_messages=warning',
    'log_connections=off',
  ].flatMap((setting) => ['-c', setting])
}

/** A new cluster with the system's database, from nothing (whatever a half-made one left is removed). */
async function initializeCluster(config: StackConfig, { home, data, sockets, initialized }: PostgresPaths) {
  const bin = (tool: string) => join(config.postgresBin, tool)
  rmSync(data, { recursive: true, force: true })
  // The folders on the way stay searchable (0755): the server runs as `postgres`, not as their owner.
  mkdirSync(home, { recursive: true })
  mkdirSync(data, { recursive: true, mode: 0o700 })
  mkdirSync(sockets, { recursive: true })
  const passwordFile = join(home, 'initdb-password')
  writeFileSync(passwordFile, `${POSTGRES_PASSWORD}\n`, { mode: 0o600 })
  if (process.getuid?.() === 0) {
    const owner = systemUser(config.postgresUser)
    for (const path of [home, data, sockets, passwordFile]) chownSync(path, owner.uid, owner.gid)
  }
  try {
    await mustRunCommand([
      ...dropPrivileges(config),
      bin('initdb'),
      '-D',
      data,
      '-U',
      POSTGRES_USER,
      `--pwfile=${passwordFile}`,
      '--auth-host=scram-sha-256',
      '--auth-local=peer',
      '--encoding=UTF8',
      '--no-locale',
      '--no-instructions',
    ])
  } finally {
    rmSync(passwordFile, { force: true })
  }
  // Single-user mode creates the database without a running server or a password round trip.
  await mustRunCommand(
    [
      ...dropPrivileges(config),
      bin('postgres'),
      '--single',
      '-D',
      data,
      ...serverSettings(config, sockets),
      'postgres',
    ],
    { stdin: `CREATE DATABASE ${POSTGRES_DATABASE} OWNER ${POSTGRES_USER};\n` },
  )
  writeFileSync(initialized, `${new Date().toISOString()}\n`)
}

export function postgresComponent(config: StackConfig): Component {
  const paths = postgresPaths(config)
  const postgres = join(config.postgresBin, 'postgres')
  return {
    ...singleton('postgres', config.ports.postgres, `127.0.0.1:${config.ports.postgres}`, 60_000),
    stopSignal: 'SIGINT',
    async prepare() {
      if (!existsSync(postgres)) {
        throw new Error(
          `no PostgreSQL at ${config.postgresBin}: run scripts/bootstrap.sh (apt postgresql-15)`,
        )
      }
      if (existsSync(paths.initialized) && existsSync(join(paths.data, 'PG_VERSION'))) return
      // Never initialised completely (first start, or a crash during it): start over from nothing.
      await initializeCluster(config, paths)
    },
    launch() {
      return {
        argv: [
          ...dropPrivileges(config),
          postgres,
          '-D',
          paths.data,
          ...serverSettings(config, paths.sockets),
        ],
        cwd: paths.home,
        marker: paths.data,
      }
    },
    ready: () => postgresReady(config.postgresBin, config.ports.postgres),
  }
}
