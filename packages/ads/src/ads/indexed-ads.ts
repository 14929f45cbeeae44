/**
 * Serves GET /ads from the in-memory `AdIndex`: loads it from the database before the service is ready,
 * applies this process's acknowledged writes at once, and reloads it every `resyncMs` so ads written by
 * other instances (other partitions of the group) appear too — lists can lag other instances' writes by
 * up to that period; `GET /ads/:id` always reads the database.
 */
import type { Logger } from '@vehicles/platform'
import { AdIndex } from './ad-index'
import type { AdDocument } from './model'
import type { AdQuery } from './query'
import type { AdPage } from './repository'

export interface AdLister {
  list(query: AdQuery): Promise<AdPage>
}

export class IndexedAds implements AdLister {
  private index = new AdIndex()
  private loading: Promise<void> | undefined
  private timer: ReturnType<typeof setInterval> | undefined
  /** When the index last matched the database (ms since epoch), for readiness and logs. */
  loadedAt: number | undefined

  constructor(
    private readonly source: { scanAll(): Promise<AdDocument[]> },
    private readonly logger: Pick<Logger, 'info' | 'warn'>,
  ) {}

  get size(): number {
    return this.index.size
  }

  /** This process's acknowledged write. */
  apply(doc: AdDocument): void {
    this.index.apply(doc)
  }

  /** Reads every ad; writes applied meanwhile are carried over (the newer version wins). */
  load(): Promise<void> {
    this.loading ??= (async () => {
      const started = performance.now()
      try {
        const fresh = AdIndex.of(await this.source.scanAll())
        this.index = this.index.carryInto(fresh)
        this.loadedAt = Date.now()
        this.logger.info('ads.index_loaded', `${this.index.size} ads in the list index`, {
          ads: this.index.size,
          durationMs: Math.round(performance.now() - started),
        })
      } finally {
        this.loading = undefined
      }
    })()
    return this.loading
  }

  startResync(everyMs: number): () => void {
    if (everyMs <= 0) return () => {}
    this.timer = setInterval(() => {
      this.load().catch((error: unknown) =>
        this.logger.warn('ads.index_reload_failed', 'list index not reloaded; serving the previous one', {
          error,
        }),
      )
    }, everyMs)
    return () => clearInterval(this.timer)
  }

  async list(query: AdQuery): Promise<AdPage> {
    return this.index.list(query)
  }
}
