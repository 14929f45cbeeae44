/** The HTTP app of vehicles-ads: the platform's root (health, metrics, errors, OpenAPI) plus the ads routes. */
import { createHttpApp, type HttpMetrics, type Logger, type Readiness } from '@vehicles/platform'
import type { AdLister } from './ads/indexed-ads'
import type { AdsRepository } from './ads/repository'
import { adsRoutes } from './ads/routes'

export const SERVICE = 'vehicles-ads'

export interface AdsAppOptions {
  logger: Logger
  repository: Pick<AdsRepository, 'list' | 'findById'>
  /** Who answers GET /ads; the repository (a database query per page) when not given. */
  lister?: AdLister
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
  }).use(adsRoutes(options.lister ?? options.repository, options.repository))
}
