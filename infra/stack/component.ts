import { join } from 'node:path'
import type { StackConfig } from './config'
import type { Launch } from './processes'

/** One process of the stack. `up` runs prepare → launch → ready for each, group by group. */
export interface Component {
  name: string
  /** Components of one group start together; groups start in order. */
  group: 'zookeeper' | 'kafka' | 'postgres' | 'ferretdb' | 'registry' | 'nginx'
  /** Fetches or builds what it needs into the cache and writes its config; idempotent and fast when done. */
  prepare(): Promise<void>
  launch(): Launch
  /** Resolves with a short description when the component serves; throws with what it saw otherwise. */
  ready(): Promise<string>
  readyTimeoutMs: number
  /**
   * How often to start again when the process exits before it is ready (default 1: no retry). A broker
   * restarted right after a kill -9 can exit because ZooKeeper still holds its previous registration.
   */
  startAttempts?: number
  /** The graceful stop signal (SIGTERM unless the program means something else by it). */
  stopSignal?: 'SIGTERM' | 'SIGINT' | 'SIGQUIT'
  /** Ports it binds on loopback; checked free before a start. */
  ports: number[]
  /** Where it listens, for `up` and `status`. */
  endpoint: string
}

export type ComponentFactory = (config: StackConfig) => Component[]

/** A node of a three-node ensemble (ZooKeeper, Kafka, the registries): `<group>-<id>`, in its own folder. */
export interface EnsembleNode {
  id: number
  name: string
  home: string
}

/** The three components of an ensemble, each built from its node; the name and group are the node's. */
export function ensemble(
  config: StackConfig,
  group: 'zookeeper' | 'kafka' | 'registry',
  build: (node: EnsembleNode) => Omit<Component, 'name' | 'group'>,
): Component[] {
  return [1, 2, 3].map((id) => {
    const name = `${group}-${id}`
    return { name, group, ...build({ id, name, home: join(config.dir, name) }) }
  })
}

/**
 * The fields of a component that is the only one of its group and serves on one loopback port,
 * `endpoint` naming it as its clients do.
 */
export function singleton(
  group: 'postgres' | 'ferretdb' | 'nginx',
  port: number,
  endpoint: string,
  readyTimeoutMs: number,
): Pick<Component, 'name' | 'group' | 'ports' | 'endpoint' | 'readyTimeoutMs'> {
  return { name: group, group, ports: [port], endpoint, readyTimeoutMs }
}
