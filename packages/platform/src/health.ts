/**
 * Readiness: named checks, each run with its own timeout, all at once. A `critical` check that fails
 * makes the service not ready (503); a non-critical one is reported (`degraded`) but keeps it ready —
 * e.g. Kafka being down must not take vehicles-stock out of a load balancer, since its outbox keeps
 * accepting writes. Once shutdown starts the service reports not ready whatever the checks say.
 */

export interface CheckOutcome {
  ok: boolean
  /** Extra facts for operators (backlog size, relay state). */
  detail?: Record<string, unknown>
  /** Why it failed, in words. */
  error?: string
}

export type CheckFn = () => Promise<CheckOutcome | undefined> | CheckOutcome | undefined

export interface ReadinessCheck {
  name: string
  check: CheckFn
  /** Default 1 000 ms. */
  timeoutMs?: number
  /** Default true. */
  critical?: boolean
}

/**
 * A dependency the service serves without, in a degraded way: ready while `probe` resolves within 2 s,
 * reported (not fatal) when it rejects or takes longer.
 */
export function degradedWithout(name: string, probe: () => Promise<unknown>): ReadinessCheck {
  return {
    name,
    critical: false,
    timeoutMs: 2_000,
    check: async () => {
      await probe()
      return { ok: true }
    },
  }
}

export interface CheckReport extends CheckOutcome {
  critical: boolean
  durationMs: number
}

export interface ReadinessReport {
  status: 'ready' | 'degraded' | 'not_ready'
  shuttingDown?: true
  checks: Record<string, CheckReport>
}

export interface Readiness {
  register(check: ReadinessCheck): void
  run(): Promise<ReadinessReport>
  markShuttingDown(): void
  readonly shuttingDown: boolean
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error))

async function runOne(check: ReadinessCheck): Promise<CheckReport> {
  const timeoutMs = check.timeoutMs ?? 1_000
  const critical = check.critical ?? true
  const started = performance.now()
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<CheckOutcome>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, error: `no answer within ${timeoutMs} ms` }), timeoutMs)
  })
  try {
    const outcome = await Promise.race([
      Promise.resolve()
        .then(check.check)
        .then((result) => result ?? { ok: true }),
      timeout,
    ])
    return { ...outcome, critical, durationMs: Math.round(performance.now() - started) }
  } catch (error) {
    return { ok: false, error: message(error), critical, durationMs: Math.round(performance.now() - started) }
  } finally {
    clearTimeout(timer)
  }
}

export function createReadiness(): Readiness {
  const checks: ReadinessCheck[] = []
  let shuttingDown = false
  return {
    register(check) {
      if (checks.some((c) => c.name === check.name)) throw new Error(`readiness check ${check.name} twice`)
      checks.push(check)
    },
    async run() {
      const reports = await Promise.all(checks.map(runOne))
      const byName: Record<string, CheckReport> = {}
      checks.forEach((check, i) => {
        const report = reports[i]
        if (report !== undefined) byName[check.name] = report
      })
      const criticalDown = reports.some((r) => r.critical && !r.ok)
      const anyDown = reports.some((r) => !r.ok)
      if (shuttingDown) return { status: 'not_ready', shuttingDown: true, checks: byName }
      return { status: criticalDown ? 'not_ready' : anyDown ? 'degraded' : 'ready', checks: byName }
    },
    markShuttingDown() {
      shuttingDown = true
    },
    get shuttingDown() {
      return shuttingDown
    },
  }
}
