/**
 * Serves GET /ads from the in-memory `AdIndex`: loads it from the database before the service is ready,
 * applies this process's acknowledged writes at once, and reloads it every `resyncMs` so ads written by
 * other instances (other partitions of the group) appear too — lists can lag other instances' writes by
 * up to that period. A lone instance (holding every partition) skips the reloads. `GET /ads/:id` answers from the index too, and asks the database when the index
 * does not hold the ad.
 */
import type { ConsumerOwnership as Ownership } from '@vehicles/kafka'
import type { Logger } from '@vehicles/platform'
import { AdIndex } from './ad-index'
import { type AdDocument, type AdView, toView } from './model'
import type { AdQuery } from './query'
import type { AdPage } from './repository'

/** What the routes read from: the repository (database for both) or `IndexedAds`. */
export interface AdReader {
  list(query: AdQuery): Promise<AdPage>
  findById(id: string): Promise<AdView | null>
}

export class IndexedAds implements AdReader {
  private index = new AdIndex()
  private loading: Promise<void> | undefined
  private timer: ReturnType<typeof setInterval> | undefined
  /** When the index last matched the database (ms since epoch), for readiness and logs. */
  loadedAt: number | undefined
  /** The consumer's assignment changes when a reload began while it held every partition. */
  private wholeSince: number | undefined

  constructor(
    private readonly source: {
      scanAll(): Promise<AdDocument[]>
      findById(id: string): Promise<AdView | null>
    },
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

  /**
   * Reloads every `everyMs`, unless `ownership` (the projection consumer's) says nobody else can have
   * written since the last reload: this member holds every partition and its assignment has not changed
   * since it held them all at that reload. Ads are written only by the member that holds the vehicle's
   * partition (a revoked partition is released after its running handler finished; a member that lost
   * its partitions without knowing commits nothing, so what it wrote is consumed and written here again),
   * so the index then already holds every ad. A reload reads the whole collection (FerretDB's SQLite
   * backend scans it even to count: 1.3 s for 20,000 ads), which a lone instance need not pay each time.
   */
  startResync(everyMs: number, ownership?: () => Promise<Ownership>): () => void {
    if (everyMs <= 0) return () => {}
    this.timer = setInterval(() => {
      this.resync(ownership).catch((error: unknown) =>
        this.logger.warn('ads.index_reload_failed', 'list index not reloaded; serving the previous one', {
          error,
        }),
      )
    }, everyMs)
    return () => clearInterval(this.timer)
  }

  /** One tick of `startResync`: reloads unless nobody else can have written (see there). */
  async resync(ownership?: () => Promise<Ownership>): Promise<'reloaded' | 'skipped'> {
    const now = await ownership?.().catch(() => undefined)
    const whole = now !== undefined && now.total > 0 && now.owned === now.total
    if (whole && this.wholeSince === now.changes) return 'skipped'
    await this.load()
    this.wholeSince = whole ? now.changes : undefined
    return 'reloaded'
  }

  async list(query: AdQuery): Promise<AdPage> {
    return this.index.list(query)
  }

  /**
   * From the index when it holds the ad (FerretDB's SQLite backend scans the table even for an `_id`
   * lookup: ~0.7 s per request under load at 100,000 ads); from the database otherwise, so an ad
   * another instance wrote since the last reload is still found.
   */
  async findById(id: string): Promise<AdView | null> {
    const held = this.index.get(id)
    return held === undefined ? this.source.findById(id) : toView(held)
  }
}
