/**
 * The stack's settings: the only module of `infra/stack` that reads the environment.
 *
 * Every port derives from the defaults in docs/architecture.md plus `STACK_PORT_OFFSET`, so a second
 * stack (say, to try the destructive lifecycle tests) can run beside the shared one with
 * `STACK_DIR=/tmp/stack2 STACK_PORT_OFFSET=100 bun run stack up`. Single ports can be overridden too.
 *
 * infra/stack is not a workspace package, so it cannot resolve TypeBox; the few values here are checked
 * by hand, with the same promise: a bad value stops the CLI with a message naming the variable.
 */
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'

export const repoRoot = resolve(import.meta.dir, '../..')

/** Where scripts/fetch-toolchains.sh puts the Go, Bun and Java it downloads (as scripts/toolchains.sh). */
export const toolchainCache =
  process.env.VEHICLES_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'vehicles')

/** PATH with the fetched tools first and Go's usual folder last, as scripts/toolchains.sh sets it. */
export function toolchainPath(): string {
  return [join(toolchainCache, 'bin'), process.env.PATH, '/usr/local/go/bin'].filter(Boolean).join(':')
}

/** Temurin 25 where installed, else the Java 21 that scripts/fetch-toolchains.sh fetched. */
function registryJavaDefault(): string {
  const temurin = '/usr/lib/jvm/temurin-25-jdk-amd64'
  const fetched = join(toolchainCache, 'java-21')
  return existsSync(join(temurin, 'bin', 'java')) || !existsSync(fetched) ? temurin : fetched
}

export interface Ports {
  zookeeperClient: [number, number, number]
  zookeeperPeer: [number, number, number]
  zookeeperElection: [number, number, number]
  kafka: [number, number, number]
  registry: [number, number, number]
  /** Quarkus management interface of each registry (health). */
  registryManagement: [number, number, number]
  nginx: number
  postgres: number
  ferretdb: number
}

export interface StackConfig {
  /** Cache, data, pid files and logs: `.stack/` unless `STACK_DIR` says otherwise. */
  dir: string
  ports: Ports
  /** JDK for ZooKeeper and Kafka (Kafka 3.9 supports 17). */
  kafkaJavaHome: string
  /** JDK 21+ for the registry. */
  registryJavaHome: string
  postgresBin: string
  /** The system user that owns PostgreSQL's data dir when the CLI runs as root. */
  postgresUser: string
}

export class ConfigError extends Error {}

function integer(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(`${name}=${raw} is not an integer`)
  const value = Number(raw)
  if (value < min || value > max) throw new ConfigError(`${name}=${raw} is outside ${min}..${max}`)
  return value
}

function path(name: string, fallback: string): string {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  if (!isAbsolute(raw)) throw new ConfigError(`${name}=${raw} must be an absolute path`)
  return raw
}

function port(name: string, fallback: number): number {
  return integer(name, fallback, 1024, 65535)
}

function triple(name: string, base: number): [number, number, number] {
  const first = port(name, base)
  return [first, first + 1, first + 2]
}

/**
 * The default ports are chosen so that stacks whose STACK_PORT_OFFSETs differ by any multiple of 100 (up
 * to 20,000) share no port: no two bases of the layout differ by a multiple of 100 (within the width of a
 * three-node range). ZooKeeper's peer port is bound only by the ensemble's leader, long after start, so
 * a collision there cannot be caught by checking ports before starting; it has to be impossible.
 */
export const PORT_OFFSET_STEP = 100

export function loadConfig(): StackConfig {
  const offset = integer('STACK_PORT_OFFSET', 0, 0, 20000)
  const registry = triple('STACK_REGISTRY_PORT', 18071 + offset)
  return {
    dir: path('STACK_DIR', resolve(repoRoot, '.stack')),
    ports: {
      zookeeperClient: triple('STACK_ZOOKEEPER_PORT', 12161 + offset),
      zookeeperPeer: triple('STACK_ZOOKEEPER_PEER_PORT', 12888 + offset),
      zookeeperElection: triple('STACK_ZOOKEEPER_ELECTION_PORT', 13948 + offset),
      kafka: triple('STACK_KAFKA_PORT', 19092 + offset),
      registry,
      registryManagement: [registry[0] + 50, registry[1] + 50, registry[2] + 50],
      nginx: port('STACK_NGINX_PORT', 18081 + offset),
      postgres: port('STACK_POSTGRES_PORT', 15432 + offset),
      ferretdb: port('STACK_FERRETDB_PORT', 27117 + offset),
    },
    kafkaJavaHome: path('STACK_KAFKA_JAVA_HOME', '/usr/lib/jvm/java-17-openjdk-amd64'),
    registryJavaHome: path('STACK_REGISTRY_JAVA_HOME', registryJavaDefault()),
    postgresBin: path('STACK_POSTGRES_BIN', '/usr/lib/postgresql/15/bin'),
    postgresUser: process.env.STACK_POSTGRES_USER || 'postgres',
  }
}
