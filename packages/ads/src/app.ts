/** The HTTP app of vehicles-ads: the platform's root (health, metrics, errors, OpenAPI) plus the ads routes. */
import { createHttpApp, type HttpMetrics, type Logger, type Readiness } from '@vehicles/platform'
import type { AdsRepository } from './ads/repository'
import { adsRoutes } from './ads/routes'

export const SERVICE = 'vehicles-ads'

export interface AdsAppOptions {
  logger: Logger
  repository: Pick<AdsRepository, 'list' | 'findById'>
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
  }).use(adsRoutes(options.repository))
}
