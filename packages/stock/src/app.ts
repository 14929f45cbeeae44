/**
 * The stock's HTTP app, separate from `main.ts` so tests call `app.handle(new Request(...))` with no
 * port, no Kafka and an in-memory database.
 */
import { createHttpApp, type HttpMetrics, type Logger, type Readiness } from '@vehicles/platform'
import type { Database } from './db/database'
import { createVehicleRepository } from './vehicles/repository'
import { vehicleRoutes } from './vehicles/routes'
import { createVehicleService, type VehicleServiceOptions } from './vehicles/service'

export interface StockAppOptions {
  db: Database
  logger: Logger
  bodyLimitBytes?: number
  readiness?: Readiness
  metrics?: HttpMetrics
  service?: VehicleServiceOptions
}

export const SERVICE = 'vehicles-stock'

export function createStockApp(options: StockAppOptions) {
  const service = createVehicleService(createVehicleRepository(options.db), options.service)
  const http = createHttpApp({
    service: SERVICE,
    description:
      'Vehicles in stock. Each new vehicle is published as `stock.vehicle-created` through a transactional outbox.',
    logger: options.logger,
    ...(options.bodyLimitBytes !== undefined ? { bodyLimitBytes: options.bodyLimitBytes } : {}),
    ...(options.readiness !== undefined ? { readiness: options.readiness } : {}),
    ...(options.metrics !== undefined ? { metrics: options.metrics } : {}),
  })
  return http.use(vehicleRoutes(service))
}
