/**
 * The steps `startSystem` (system.ts) takes, in its order: clear what an earlier run left, prepare the
 * databases and the groups, create the supervised services, and, on stop, end them in order. Kept apart
 * so the start reads as one list of named steps.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import type { StackEnv } from '../../packages/testing/src/index'
import { portTaken } from '../command'
import { createStockDatabase, dropDatabases } from './databases'
import { skipBacklog } from './groups'
import { freePort, killLeftover } from './processes'
import { repoRoot, SERVICES, type ServiceCommand, type ServiceName } from './services'
import { type Backoff, Supervised } from './supervisor'

type Say = (line: string) => void

export const stackDir = (stack: StackEnv) => stack.STACK_DIR ?? join(repoRoot, '.stack')

export const pidFileOf = (runDir: string, name: ServiceName) => join(runDir, `system-${name}.pid`)

/** A service a crashed earlier run left behind would hold its port and its group membership. */
export async function killLeftovers(runDir: string, say: Say): Promise<void> {
  for (const name of SERVICES) {
    const leftover = await killLeftover(pidFileOf(runDir, name))
    if (leftover !== undefined) say(`${name}: killed pid ${leftover} left by an earlier run`)
  }
}

export async function prepareStockDatabase(
  stack: StackEnv,
  databases: { stock: string; ads: string },
  dropFirst: boolean,
  say: Say,
): Promise<void> {
  if (dropFirst) {
    await dropDatabases(stack, databases)
    say(`--fresh: dropped databases ${databases.stock} (PostgreSQL) and ${databases.ads} (MongoDB)`)
  }
  const made = await createStockDatabase(stack, databases.stock)
  say(`stock database ${databases.stock}: ${made ? 'created' : 'kept from earlier runs'}`)
}

/** Empty databases must not receive the events of earlier runs: the groups start at the topics' end. */
export function skipOurBacklog(stack: StackEnv, say: Say): Promise<void> {
  return skipBacklog(
    stack,
    [
      { groupId: 'price-estimate', topic: 'stock.vehicle-created' },
      { groupId: 'vehicles-ads', topic: 'stock.vehicle-processed' },
    ],
    say,
  )
}

export function assignPorts(
  fixed: Partial<Record<ServiceName, number>> | undefined,
): Record<ServiceName, number> {
  return Object.fromEntries(SERVICES.map((name) => [name, fixed?.[name] ?? freePort()])) as Record<
    ServiceName,
    number
  >
}

export interface SuperviseSettings {
  stack: StackEnv
  runDir: string
  runId: string
  detached: boolean | undefined
  restart: boolean
  backoff: Backoff | undefined
  say: Say
  onUnexpectedExit: (name: ServiceName, code: number) => void
}

/**
 * Adds one supervised (not yet started) service per command to `services`, one by one, so a port found
 * taken half-way leaves the ones already made in the map for the caller's teardown.
 */
export async function addSupervisedServices(
  commands: ServiceCommand[],
  services: Map<ServiceName, Supervised>,
  s: SuperviseSettings,
): Promise<void> {
  for (const command of commands) {
    if (await portTaken(command.port)) {
      throw new Error(
        `${command.name}: port ${command.port} is already in use (\`ss -ltnp 'sport = :${command.port}'\`)`,
      )
    }
    const service = new Supervised(
      {
        ...command,
        logFile: join(stackDir(s.stack), 'logs', `system-${command.name}.log`),
        pidFile: pidFileOf(s.runDir, command.name),
        marker: `system-${s.runId}-${command.name}`,
        detached: s.detached,
      },
      {
        restart: s.restart,
        backoff: s.backoff,
        say: s.say,
        onUnexpectedExit: (code) => s.onUnexpectedExit(command.name, code),
      },
    )
    services.set(command.name, service)
  }
}

/** The stock first (no new events), then the estimators (they finish their transaction), the ads last. */
export async function stopInOrder(services: Map<ServiceName, Supervised>, say: Say): Promise<void> {
  for (const service of services.values()) service.endSupervision()
  const order: ServiceName[][] = [['stock'], ['price-estimate-1', 'price-estimate-2'], ['ads']]
  for (const group of order) {
    await Promise.all(
      group.map(async (name) => {
        const service = services.get(name)
        if (service === undefined) return
        const how = await service.stop('SIGTERM', 15_000)
        rmSync(service.spec.pidFile, { force: true })
        say(`${name}: ${how}`)
      }),
    )
  }
}

/** Each service's `/health/ready` answer right now (status and body), for failure messages. */
export async function readinessReport(
  url: (name: ServiceName) => string,
): Promise<Record<ServiceName, string>> {
  const entries = await Promise.all(
    SERVICES.map(async (name): Promise<[ServiceName, string]> => {
      try {
        const response = await fetch(`${url(name)}/health/ready`, {
          signal: AbortSignal.timeout(3_000),
        })
        return [name, `${response.status} ${(await response.text()).slice(0, 400)}`]
      } catch (error) {
        return [name, `no answer: ${error instanceof Error ? error.message : String(error)}`]
      }
    }),
  )
  return Object.fromEntries(entries) as Record<ServiceName, string>
}
