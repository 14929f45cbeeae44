/**
 * Graceful shutdown on SIGTERM/SIGINT: mark not ready (so balancers stop sending), stop accepting
 * connections and let in-flight requests finish, then run the registered closers in order (e.g. flush
 * the outbox relay, then close the database pool), then exit 0. Each step is bounded by a timeout so a
 * stuck dependency cannot hold the process forever; a second signal exits at once.
 */
import type { Readiness } from './health'
import type { Logger } from './logger'

export interface StoppableServer {
  /** Bun's `server.stop(closeActiveConnections)`: resolves once in-flight requests are answered. */
  stop(closeActiveConnections?: boolean): Promise<void> | void
}

export interface ShutdownOptions {
  logger: Logger
  readiness?: Readiness
  /** Time to let in-flight requests finish before connections are cut; default 10 000 ms. */
  drainTimeoutMs?: number
  /** Per closer; default 10 000 ms. */
  closerTimeoutMs?: number
  /** Wait between "not ready" and closing the listener, for balancers to notice; default 0. */
  notReadyDelayMs?: number
  exit?: (code: number) => void
}

export interface Shutdown {
  /** The HTTP server to drain first. */
  setServer(server: StoppableServer): void
  /** Closers run in registration order after the server drained. */
  onClose(name: string, close: () => Promise<void> | void): void
  /** Runs the whole sequence once; later calls return the same promise. */
  run(reason: string): Promise<void>
  /** Listens for SIGTERM and SIGINT. */
  install(): void
}

function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)
  })
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer))
}

export function createShutdown(options: ShutdownOptions): Shutdown {
  const { logger } = options
  const closers: { name: string; close: () => Promise<void> | void }[] = []
  let server: StoppableServer | undefined
  let running: Promise<void> | undefined
  const exit = options.exit ?? ((code: number) => process.exit(code))

  const sequence = async (reason: string) => {
    logger.info('shutdown.start', `shutting down (${reason})`)
    options.readiness?.markShuttingDown()
    if ((options.notReadyDelayMs ?? 0) > 0) await Bun.sleep(options.notReadyDelayMs ?? 0)
    if (server !== undefined) {
      const drainMs = options.drainTimeoutMs ?? 10_000
      try {
        await within(drainMs, 'draining HTTP requests', Promise.resolve(server.stop(false)))
        logger.info('shutdown.http_drained', 'HTTP server closed; in-flight requests answered')
      } catch (error) {
        logger.warn('shutdown.http_forced', 'cutting remaining HTTP connections', { error })
        await server.stop(true)
      }
    }
    let failed = 0
    for (const closer of closers) {
      try {
        await within(options.closerTimeoutMs ?? 10_000, closer.name, Promise.resolve().then(closer.close))
        logger.info('shutdown.closed', `${closer.name} closed`)
      } catch (error) {
        failed += 1
        logger.error('shutdown.close_failed', `${closer.name} failed to close`, { error })
      }
    }
    logger.info(
      'shutdown.done',
      failed === 0 ? 'shutdown complete' : `shutdown complete, ${failed} closer(s) failed`,
    )
  }

  const shutdown: Shutdown = {
    setServer(value) {
      server = value
    },
    onClose(name, close) {
      closers.push({ name, close })
    },
    run(reason) {
      running ??= sequence(reason)
      return running
    },
    install() {
      for (const signal of ['SIGTERM', 'SIGINT'] as const) {
        process.on(signal, () => {
          if (running !== undefined) {
            logger.warn('shutdown.again', `${signal} during shutdown: exiting now`)
            exit(1)
            return
          }
          void shutdown.run(signal).then(() => exit(0))
        })
      }
    },
  }
  return shutdown
}
