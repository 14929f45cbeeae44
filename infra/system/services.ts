/**
 * The four services of the system as local processes: what each runs, where, and with which settings.
 * Every setting comes from the stack's endpoints plus the run's own choices; nothing from the caller's
 * environment but PATH and friends, so a stray variable in a shell never changes a run.
 */
import { join, resolve } from 'node:path'
import type { StackEnv } from '../../packages/testing/src/index'
import { baseEnv } from './processes'

export const SERVICES = ['stock', 'ads', 'price-estimate-1', 'price-estimate-2'] as const
export type ServiceName = (typeof SERVICES)[number]

export const repoRoot = resolve(import.meta.dir, '../..')
export const estimatorPython = join(repoRoot, 'estimator', '.venv', 'bin', 'python')

/** `bun run system`'s ports, each plus STACK_PORT_OFFSET so systems of two stacks run side by side. */
export const DEFAULT_PORTS: Record<ServiceName, number> = {
  stock: 3002,
  ads: 3003,
  'price-estimate-1': 9101,
  'price-estimate-2': 9102,
}

export interface ServiceSettings {
  stack: StackEnv
  ports: Record<ServiceName, number>
  stockDatabaseUrl: string
  adsDatabase: string
  estimateDelaySeconds: number
  estimatorSessionTimeoutMs: number
  /** vehicles-ads' KAFKA_GROUP_INSTANCE_ID (static membership), if any. */
  adsGroupInstanceId?: string
  env?: Partial<Record<ServiceName, Record<string, string>>>
}

export interface ServiceCommand {
  name: ServiceName
  port: number
  argv: string[]
  cwd: string
  env: Record<string, string>
}

/** A PostgreSQL URL with another database name. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

export function serviceCommands(s: ServiceSettings): ServiceCommand[] {
  const common = {
    ...baseEnv(),
    KAFKA_BROKERS: s.stack.KAFKA_BROKERS,
    SCHEMA_REGISTRY_URL: s.stack.SCHEMA_REGISTRY_URL,
  }
  const estimator = (instance: 1 | 2): ServiceCommand => {
    const name: ServiceName = `price-estimate-${instance}`
    return {
      name,
      port: s.ports[name],
      argv: [estimatorPython, '-m', 'estimator'],
      cwd: join(repoRoot, 'estimator'),
      env: {
        ...common,
        // Stable across restarts of one instance: its transactional ids (one per slot of its rotation)
        // fence the killed one's zombie.
        INSTANCE_ID: String(instance),
        METRICS_PORT: String(s.ports[name]),
        METRICS_HOST: '127.0.0.1',
        ESTIMATE_DELAY_SECONDS: String(s.estimateDelaySeconds),
        SESSION_TIMEOUT_MS: String(s.estimatorSessionTimeoutMs),
        CONTRACTS_DIR: join(repoRoot, 'packages', 'contracts', 'schemas'),
        ...s.env?.[name],
      },
    }
  }
  return [
    {
      name: 'stock',
      port: s.ports.stock,
      argv: [process.execPath, join(repoRoot, 'packages', 'stock', 'src', 'main.ts')],
      cwd: join(repoRoot, 'packages', 'stock'),
      env: {
        ...common,
        DATABASE_URL: s.stockDatabaseUrl,
        PORT: String(s.ports.stock),
        HOST: '127.0.0.1',
        ...s.env?.stock,
      },
    },
    {
      name: 'ads',
      port: s.ports.ads,
      argv: [process.execPath, join(repoRoot, 'packages', 'ads', 'src', 'main.ts')],
      cwd: join(repoRoot, 'packages', 'ads'),
      env: {
        ...common,
        MONGODB_URL: s.stack.MONGODB_URL,
        MONGODB_DATABASE: s.adsDatabase,
        ...(s.adsGroupInstanceId === undefined ? {} : { KAFKA_GROUP_INSTANCE_ID: s.adsGroupInstanceId }),
        PORT: String(s.ports.ads),
        HOST: '127.0.0.1',
        ...s.env?.ads,
      },
    },
    estimator(1),
    estimator(2),
  ]
}
