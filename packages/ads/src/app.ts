/** The HTTP app of vehicles-ads: the platform's root (health, metrics, errors, OpenAPI) plus the ads routes. */
import { createHttpApp, type HttpMetrics, type Logger, type Readiness } from '@vehicles/platform'
import type { AdReader } from './ads/indexed-ads'
import { adsRoutes } from './ads/routes'

export const SERVICE = 'vehicles-ads'

export interface AdsAppOptions {
  logger: Logger
  /** The in-memory index (`IndexedAds`) or the repository (a database query per request). */
  reader: AdReader
  readiness?: Readiness
  metrics?: HttpMetrics
}

export function createAdsApp(options: AdsAppOptions) {
  return createHttpApp({
    service: SERVICE,
    description: 'Read model of priced vehicles: one ad per vehicle, kept from stock.vehicle-processed',
    logger: options.logger,
    readiness: options.readiness,
    metrics: options.metrics,
  }).use(adsRoutes(options.reader))
}
