/**
 * Stopping and starting components of the SHARED stack for the fault suites, and putting it back: every
 * component running and ready, and every replica of the system's topics (and Kafka's own) in sync again.
 * Fault cases call `restoreStack` in a finally block, so a failing case still leaves the stack whole.
 */
import { openStack, type Stack, startComponent, status, stopComponent } from '../../infra/stack/control'
import { leadsGroup } from '../../infra/stack/processes'
import { clusterMetadata, underReplicated } from '../../packages/testing/src/index'
import { WATCHED } from './ledger'

export type Say = (line: string) => void

let cached: Stack | undefined
const stack = () => {
  cached ??= openStack()
  return cached
}

export async function stopStackComponent(name: string, signal: 'SIGTERM' | 'SIGKILL' | 'SIGINT', say: Say) {
  const outcome = await stopComponent(name, signal === 'SIGTERM' ? {} : { signal }, stack())
  say(`${name}: ${outcome}`)
}

export async function startStackComponent(name: string, say: Say) {
  await startComponent(name, stack(), say)
}

/**
 * Freezes (SIGSTOP) or thaws (SIGCONT) a running component: the process keeps its sockets and state but
 * answers nothing, as a machine in a long GC pause or a VM being migrated would. The signal goes to
 * the process group when the component leads one (a wrapper script and the program it runs).
 */
export async function signalStackComponent(name: string, signal: 'SIGSTOP' | 'SIGCONT', say: Say) {
  const entry = (await status(stack())).find((e) => e.name === name)
  if (entry?.pid === undefined) throw new Error(`${name} is not running: cannot send ${signal}`)
  const group = leadsGroup(entry.pid)
  process.kill(group ? -entry.pid : entry.pid, signal)
  say(`${name}: ${signal} to ${group ? 'process group' : 'pid'} ${entry.pid}`)
}

/** Brokers by id as the stack names them (`kafka-<broker.id>`). */
export const brokerComponent = (id: number) => `kafka-${id}`

/** The broker that leads the most partitions of `topic`: killing it moves the most leaders. */
export async function busiestLeader(brokers: string, topic: string): Promise<number> {
  const metadata = await clusterMetadata(brokers, topic)
  const counts = new Map<number, number>()
  for (const partition of metadata.topics[0]?.partitions ?? []) {
    counts.set(partition.leader, (counts.get(partition.leader) ?? 0) + 1)
  }
  const [best] = [...counts].sort((a, b) => b[1] - a[1])
  if (best === undefined) throw new Error(`no leaders for ${topic}`)
  return best[0]
}

const ORDER = ['zookeeper', 'postgres', 'ferretdb', 'kafka', 'registry', 'nginx']

const INTERNAL_TOPICS = ['__consumer_offsets', '__transaction_state']

/** Partitions of the system's and Kafka's own topics whose ISR is short, as "topic/p isr [..] of [..]". */
export async function shortIsr(brokers: string): Promise<string[]> {
  const short: string[] = []
  for (const topic of [...WATCHED, ...INTERNAL_TOPICS]) {
    short.push(...underReplicated(await clusterMetadata(brokers, topic)))
  }
  return short
}

/** Components not running, or running and not answering their readiness probe. */
async function unhealthy(): Promise<{ name: string; why: string; running: boolean }[]> {
  return (await status(stack()))
    .filter((entry) => entry.state !== 'running' || entry.problem !== undefined)
    .map((entry) => ({
      name: entry.name,
      why: `${entry.state} ${entry.problem ?? ''}`.trim(),
      running: entry.state === 'running',
    }))
}

const byOrder = (a: { name: string }, b: { name: string }) =>
  ORDER.indexOf(a.name.split('-')[0] ?? '') - ORDER.indexOf(b.name.split('-')[0] ?? '')

/**
 * Starts every component that is not running (in dependency order) and waits until all are ready and
 * every replica is back in sync. A component that runs but stays unready for `stuckMs` (say a registry
 * whose storage topic vanished under it while every broker was down) is restarted once.
 */
export async function restoreStack(brokers: string, say: Say, timeoutMs = 240_000, stuckMs = 90_000) {
  const started = Date.now()
  const deadline = started + timeoutMs
  const down = (await unhealthy()).filter((entry) => !entry.running).sort(byOrder)
  for (const entry of down) {
    say(`restore: ${entry.name} is ${entry.why}; starting it`)
    await startComponent(entry.name, stack(), say)
  }
  const restarted = new Set<string>()
  let lastSeen = ''
  for (;;) {
    try {
      const problems = await unhealthy()
      if (problems.length === 0) {
        const short = await shortIsr(brokers)
        if (short.length === 0) return
        lastSeen = `short ISR: ${short.slice(0, 5).join('; ')}${short.length > 5 ? ` (+${short.length - 5})` : ''}`
      } else {
        lastSeen = problems.map((p) => `${p.name} ${p.why}`).join('; ')
        for (const problem of problems.sort(byOrder)) {
          const stuck = problem.running && Date.now() - started > stuckMs
          if ((stuck || !problem.running) && !restarted.has(problem.name)) {
            restarted.add(problem.name)
            say(
              `restore: ${problem.name} ${problem.why} after ${Math.round((Date.now() - started) / 1000)} s; restarting it`,
            )
            if (problem.running) await stopComponent(problem.name, {}, stack())
            await startComponent(problem.name, stack(), say)
          }
        }
      }
    } catch (error) {
      lastSeen = error instanceof Error ? error.message : String(error)
    }
    if (Date.now() > deadline) throw new Error(`stack not restored after ${timeoutMs / 1000} s: ${lastSeen}`)
    await Bun.sleep(1_000)
  }
}
