/**
 * One fault case: a bounded stream of POSTs, a fault injected while it runs, the stack restored whatever
 * happened, then the books of PostgreSQL, both topics and the ads collection compared. Prints one line
 *
 *   fault <name>: posted N, 201 N, 5xx 0, lost 0, duplicated 0, re-priced 0, dlq N, recovery X s
 *
 * (recovery: from the moment the fault ended until every vehicle acknowledged by then has its ad, that is
 * until the backlog the fault built is cleared) and appends
 * it to `.stack/logs/fault-results.log`, from which docs/reliability.md's table is copied.
 */
import { appendFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { waitFor } from '../../packages/testing/src/index'
import { describe as describeBooks, Ledger, type Reconciliation, type Snapshot, totals } from './ledger'
import { type LoadHandle, type LoadResult, postStream } from './load'
import { restoreStack } from './stack-faults'
import type { System } from './system'

export interface CaseContext {
  system: System
  load: LoadHandle
  say: (line: string) => void
  /** Waits until at least `n` vehicles were answered 201. */
  created(n: number, timeoutMs?: number): Promise<void>
  /** Call when the fault is over (component back): recovery is measured from here. */
  restored(): void
}

export interface FaultCase {
  name: string
  count: number
  ratePerSecond: number
  concurrency?: number
  /** Injects the fault and ends it, calling `ctx.restored()`. */
  inject(ctx: CaseContext): Promise<void>
  /** Always runs after `inject`, even when it threw: undo what it did (idempotent). */
  cleanup?(ctx: CaseContext): Promise<void>
  /** Dead letters this case produces on purpose. */
  expectedDlq?: number
  settleTimeoutMs?: number
}

export interface FaultFigures {
  line: string
  load: LoadResult
  result: Reconciliation
  snapshot: Snapshot
  lost: number
  duplicated: number
  recoverySeconds: number | undefined
  books: string
  crashed: { name: string; code: number }[]
}

export async function runFaultCase(system: System, fault: FaultCase): Promise<FaultFigures> {
  const say = (line: string) => console.log(`[${fault.name}] ${line}`)
  const ledger = await Ledger.open(system)
  const load = postStream({
    stockUrl: system.stockUrl,
    count: fault.count,
    ratePerSecond: fault.ratePerSecond,
    concurrency: fault.concurrency ?? 16,
  })
  let restoredAt: number | undefined
  let recovered: Promise<number | undefined> = Promise.resolve(undefined)
  const ctx: CaseContext = {
    system,
    load,
    say,
    created: (n, timeoutMs = 120_000) =>
      waitFor(`${n} vehicles answered 201 (${fault.name})`, () => (load.progress() >= n ? true : undefined), {
        timeoutMs,
        intervalMs: 50,
      }).then(() => undefined),
    restored: () => {
      if (restoredAt !== undefined) return
      restoredAt = Date.now()
      const backlog = new Set(load.ids())
      recovered = (async () => {
        const deadline = Date.now() + (fault.settleTimeoutMs ?? 120_000)
        while (Date.now() < deadline) {
          try {
            if ((await ledger.countAds(backlog)) === backlog.size) return Date.now()
          } catch {
            // The ads database may be the component that is coming back.
          }
          await Bun.sleep(250)
        }
        return undefined
      })()
    },
  }
  let injectError: unknown
  try {
    await fault.inject(ctx)
  } catch (error) {
    injectError = error
  } finally {
    try {
      await fault.cleanup?.(ctx)
    } finally {
      await restoreStack(system.stack.KAFKA_BROKERS, say)
    }
  }
  ctx.restored()
  const loadResult = await load.done
  if (injectError !== undefined) throw injectError

  const acknowledged = new Set(loadResult.ids)
  const { result, snapshot, completeAt } = await ledger.settle(acknowledged, fault.settleTimeoutMs ?? 120_000)
  const { lost, duplicated } = totals(result)
  const recoveredAt = await recovered
  const recoverySeconds =
    completeAt === undefined || recoveredAt === undefined || restoredAt === undefined
      ? undefined
      : Math.max(0, recoveredAt - restoredAt) / 1000
  const fiveXx = loadResult.serverErrors
  const recovery = recoverySeconds === undefined ? 'never (deadline)' : `${recoverySeconds.toFixed(1)} s`
  let line =
    `fault ${fault.name}: posted ${loadResult.posted}, 201 ${loadResult.created}, 5xx ${fiveXx}, ` +
    `lost ${lost}, duplicated ${duplicated}, re-priced ${result.repriced.length}, dlq ${result.dlq}, ` +
    `recovery ${recovery}`
  const extras: string[] = []
  if (loadResult.unavailable > 0) extras.push(`503 with Retry-After ${loadResult.unavailable} (retried)`)
  if (result.redelivered.length > 0) {
    extras.push(`created event redelivered by the relay ${result.redelivered.length} (same event id, one ad)`)
  }
  const unanswered = loadResult.statuses.error ?? 0
  if (unanswered > 0) extras.push(`no answer ${unanswered} (retried)`)
  if (loadResult.abandoned > 0) extras.push(`abandoned ${loadResult.abandoned}`)
  const crashed = system.crashed()
  if (crashed.length > 0) {
    extras.push(`exited and restarted: ${crashed.map((c) => `${c.name} (exit ${c.code})`).join(', ')}`)
  }
  if (extras.length > 0) line += `; ${extras.join(', ')}`
  console.log(line)
  const logs = join(system.stack.STACK_DIR ?? '.stack', 'logs')
  mkdirSync(logs, { recursive: true })
  appendFileSync(join(logs, 'fault-results.log'), `${new Date().toISOString()} ${line}\n`)
  const books =
    `${describeBooks(result)}; load ${JSON.stringify(loadResult.statuses)}; ` +
    `samples ${JSON.stringify(loadResult.samples)}; readiness now ${JSON.stringify(await system.readiness())}`
  return {
    line,
    load: loadResult,
    result,
    snapshot,
    lost,
    duplicated,
    recoverySeconds,
    books,
    crashed,
  }
}

/** Reads one sample of a Prometheus text exposition (first series of that name), or undefined. */
export async function metric(baseUrl: string, name: string): Promise<number | undefined> {
  const response = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(2_000) })
  const text = await response.text()
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm').exec(text)
  return match?.[1] === undefined ? undefined : Number(match[1])
}
