/**
 * The stack's programmatic API; the CLI and the fault tests both use it.
 *
 *   import { startComponent, stopComponent, status } from '../../infra/stack/control'
 *   await stopComponent('kafka-2', { signal: 'SIGKILL' })
 *   await startComponent('kafka-2')
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { portTaken, runCommand } from '../command'
import type { Component } from './component'
import { loadConfig, type StackConfig } from './config'
import { ferretdbComponent, mongodbUrl } from './ferretdb'
import { createTopics, kafkaBootstrap, kafkaComponents, zookeeperComponents } from './kafka'
import { nginxComponent } from './nginx'
import { postgresComponent, postgresHome, postgresUrl } from './postgres'
import { kafkaMetadata } from './probes'
import { groupRssKib, Processes, type StopOptions } from './processes'
import { registryComponents, registryUrl } from './registry'

export type Say = (line: string) => void

type Group = Component['group']

/**
 * Start order: groups of one phase start together. The registry needs all brokers (its journal topics
 * get RF 3 only then); nginx only needs to exist before SCHEMA_REGISTRY_URL is published.
 */
const PHASES: Group[][] = [['zookeeper', 'postgres', 'ferretdb'], ['kafka'], ['registry', 'nginx']]
const GROUP_ORDER: Group[] = PHASES.flat()

export interface Stack {
  config: StackConfig
  processes: Processes
  components: Component[]
}

export function openStack(config: StackConfig = loadConfig()): Stack {
  const components = [
    ...zookeeperComponents(config),
    ...kafkaComponents(config),
    postgresComponent(config),
    ferretdbComponent(config),
    ...registryComponents(config),
    nginxComponent(config),
  ]
  return { config, processes: new Processes(config.dir), components }
}

function find(stack: Stack, name: string): Component {
  const component = stack.components.find((candidate) => candidate.name === name)
  if (component === undefined) {
    throw new Error(`no component ${name}; known: ${stack.components.map((c) => c.name).join(', ')}`)
  }
  return component
}

/** Polls a component's probe until it answers or its deadline passes; fails early if the process died. */
async function awaitReady(stack: Stack, component: Component): Promise<string> {
  const deadline = Date.now() + component.readyTimeoutMs
  let lastSeen = 'no answer yet'
  for (;;) {
    try {
      return await component.ready()
    } catch (error) {
      lastSeen = error instanceof Error ? error.message : String(error)
    }
    if (!stack.processes.alive(component.name)) {
      throw new Error(
        `${component.name} exited while starting (last probe: ${lastSeen}); see ${stack.processes.logFile(component.name)}`,
      )
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${component.name} not ready after ${component.readyTimeoutMs / 1000} s: ${lastSeen}; see ${stack.processes.logFile(component.name)}`,
      )
    }
    await Bun.sleep(250)
  }
}

/** Starting on a taken port would "succeed" against whoever holds it; say so instead. */
async function assertPortsFree(component: Component) {
  for (const port of component.ports) {
    if (await portTaken(port)) {
      throw new Error(
        `${component.name}: port ${port} is already in use by a process this stack did not record; ` +
          `find it with \`ss -ltnp 'sport = :${port}'\`, stop it, or move the stack with STACK_PORT_OFFSET`,
      )
    }
  }
}

/** Starts one component (no-op when it runs) and waits until it is ready. */
export async function startComponent(name: string, stack: Stack = openStack(), say: Say = () => {}) {
  const component = find(stack, name)
  const state = stack.processes.state(name)
  if (state.state === 'running') {
    say(`${name}: already running (pid ${state.pid})`)
  } else {
    if (await stack.processes.clearStale(name)) say(`${name}: removed a stale pid file (left by a crash)`)
    const adopted = stack.processes.adopt(name, component.launch().marker)
    if (adopted !== undefined) say(`${name}: found running without a pid file (pid ${adopted}); recorded it`)
  }
  const attempts = component.startAttempts ?? 1
  for (let attempt = 1; ; attempt++) {
    if (stack.processes.state(name).state !== 'running') {
      await component.prepare()
      await assertPortsFree(component)
      const pid = await stack.processes.start(name, component.launch())
      say(`${name}: started pid ${pid}${attempt > 1 ? ` (attempt ${attempt} of ${attempts})` : ''}`)
    }
    try {
      const detail = await awaitReady(stack, component)
      say(`${name}: ready at ${component.endpoint} (${detail})`)
      return
    } catch (error) {
      if (attempt >= attempts || stack.processes.alive(name)) throw error
      say(`${name}: exited before it was ready; starting again in 3 s (${String(error)})`)
      await stack.processes.clearStale(name)
      await Bun.sleep(3_000)
    }
  }
}

/** Stops one component: its graceful signal by default, or `{ signal: 'SIGKILL' }` to simulate a crash. */
export async function stopComponent(name: string, options: StopOptions = {}, stack: Stack = openStack()) {
  const component = find(stack, name)
  return stack.processes.stop(name, { signal: component.stopSignal, ...options })
}

export interface ComponentStatus {
  name: string
  state: 'running' | 'stopped' | 'stale'
  pid?: number
  endpoint: string
  ready?: string
  problem?: string
  /** Resident memory of its process group, MiB. */
  rssMib?: number
}

export async function status(stack: Stack = openStack()): Promise<ComponentStatus[]> {
  return Promise.all(
    stack.components.map(async (component): Promise<ComponentStatus> => {
      const state = stack.processes.state(component.name)
      const base: ComponentStatus = { name: component.name, state: state.state, endpoint: component.endpoint }
      if (state.state !== 'stopped') base.pid = state.pid
      if (state.state !== 'running') return base
      base.rssMib = Math.round(groupRssKib(state.pid) / 1024)
      try {
        base.ready = await component.ready()
      } catch (error) {
        base.problem = error instanceof Error ? error.message : String(error)
      }
      return base
    }),
  )
}

export function envFile(stack: Stack): string {
  return join(stack.config.dir, 'stack.env')
}

/** The endpoints of the components that are up; written after each phase so early users can start. */
function writeEnv(stack: Stack, ready: Set<Group>) {
  const { config } = stack
  const { ports } = config
  const lines: string[] = ['# Written by `bun run stack up`; removed by `bun run stack down`.']
  if (ready.has('kafka')) {
    lines.push(`KAFKA_BROKERS=${kafkaBootstrap(config)}`)
    ports.kafka.forEach((port, index) => {
      lines.push(`KAFKA_BROKER_${index + 1}=127.0.0.1:${port}`)
    })
    lines.push(`ZOOKEEPER_CONNECT=${ports.zookeeperClient.map((port) => `127.0.0.1:${port}`).join(',')}`)
  }
  if (ready.has('registry') && ready.has('nginx')) {
    lines.push(`SCHEMA_REGISTRY_URL=http://127.0.0.1:${ports.nginx}/apis/ccompat/v7`)
    const instances = [1, 2, 3].map((id) => registryUrl(config, id))
    instances.forEach((url, index) => {
      lines.push(`SCHEMA_REGISTRY_INSTANCE_${index + 1}=${url}`)
    })
    lines.push(`SCHEMA_REGISTRY_INSTANCES=${instances.join(',')}`)
    lines.push(`SCHEMA_REGISTRY_PROXY_HEALTH_URL=http://127.0.0.1:${ports.nginx}/health`)
  }
  if (ready.has('postgres')) lines.push(`DATABASE_URL=${postgresUrl(config)}`)
  if (ready.has('ferretdb')) lines.push(`MONGODB_URL=${mongodbUrl(config)}`)
  lines.push(`STACK_DIR=${config.dir}`)
  mkdirSync(config.dir, { recursive: true })
  writeFileSync(`${envFile(stack)}.tmp`, `${lines.join('\n')}\n`)
  // Rename so a reader never sees a half-written file.
  renameSync(`${envFile(stack)}.tmp`, envFile(stack))
}

export const GROUPS: readonly Group[] = GROUP_ORDER

/** Starts every component, or only those of `only` (e.g. ['zookeeper', 'kafka']), phase by phase. */
export async function up(stack: Stack = openStack(), say: Say = () => {}, only: Group[] = GROUP_ORDER) {
  const ready = new Set<Group>()
  for (const fullPhase of PHASES) {
    const phase = fullPhase.filter((group) => only.includes(group))
    if (phase.length === 0) continue
    const started = performance.now()
    const members = stack.components.filter((component) => phase.includes(component.group))
    await Promise.all(members.map((component) => startComponent(component.name, stack, say)))
    if (phase.includes('kafka')) await ensureTopics(stack, say)
    for (const group of phase) ready.add(group)
    if (ready.has('registry') && ready.has('nginx')) await registerContracts(stack, say)
    writeEnv(stack, ready)
    say(`${phase.join(' + ')}: ready in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  }
}

/** Fetches and builds everything into the cache without starting anything (bootstrap warms CI this way). */
export async function prepare(stack: Stack = openStack(), say: Say = () => {}) {
  for (const component of stack.components) {
    const started = performance.now()
    await component.prepare()
    say(`${component.name}: prepared in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  }
}

/**
 * Registers the event schemas, as compose's one-shot `contracts-register` does: the services refuse
 * to start until their subjects are registered, so a stack is only usable after this.
 */
export async function registerContracts(stack: Stack, say: Say = () => {}) {
  const registry = `http://127.0.0.1:${stack.config.ports.nginx}/apis/ccompat/v7`
  const { code, out, err } = await runCommand(['bun', 'run', 'contracts:register'], {
    cwd: join(import.meta.dir, '..', '..'),
    env: { SCHEMA_REGISTRY_URL: registry },
  })
  if (code !== 0) throw new Error(`contracts:register failed (exit ${code}):\n${out}${err}`)
  say(`contracts: ${out.trim().split('\n').join('; ')}`)
}

export async function ensureTopics(stack: Stack, say: Say = () => {}) {
  const metadata = await kafkaMetadata(kafkaBootstrap(stack.config))
  const existing = new Set(metadata.topics.filter((topic) => !topic.error).map((topic) => topic.topic))
  const created = await createTopics(stack.config, existing)
  say(created.length > 0 ? `topics: created ${created.join(', ')}` : 'topics: all present')
}

export async function down(stack: Stack = openStack(), say: Say = () => {}) {
  rmSync(envFile(stack), { force: true })
  for (const group of [...GROUP_ORDER].reverse()) {
    const members = stack.components.filter((component) => component.group === group)
    await Promise.all(
      members.map(async (component) => {
        const outcome = await stack.processes.stop(component.name, { signal: component.stopSignal })
        if (outcome !== 'not running') say(`${component.name}: ${outcome}`)
      }),
    )
  }
}

/** Stops everything and deletes data and logs, keeping the downloaded/built cache. */
export async function reset(stack: Stack = openStack(), say: Say = () => {}) {
  await down(stack, say)
  // Data dirs only: the downloaded jars (lib/), the FerretDB binary (bin/) and the registry build stay.
  for (const component of stack.components) {
    rmSync(join(stack.config.dir, component.name), { recursive: true, force: true })
  }
  for (const dir of ['postgres', 'ferretdb', 'nginx'])
    rmSync(join(stack.config.dir, dir), { recursive: true, force: true })
  rmSync(postgresHome(stack.config), { recursive: true, force: true })
  rmSync(join(stack.config.dir, 'registry', 'instances'), { recursive: true, force: true })
  rmSync(join(stack.config.dir, 'logs'), { recursive: true, force: true })
  rmSync(join(stack.config.dir, 'run'), { recursive: true, force: true })
  say(`reset: data and logs under ${stack.config.dir} removed (cache kept)`)
}
