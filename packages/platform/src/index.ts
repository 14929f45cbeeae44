/** @vehicles/platform: what both Bun services share. See README.md. */

// The metric classes, so services add metrics to the same registry without their own prom-client.
export { Counter, Gauge, Histogram, Registry } from 'prom-client'
export { checkBodyHeaders, isJsonContentType, readJsonBody } from './body'
export { ConfigError, type ConfigProblem, loadConfig, parseConfig } from './config'
export { pathParam, queryParam, type RouteDocs, routeDocs } from './docs'
export {
  ConflictError,
  errorBody,
  HttpError,
  MalformedJsonError,
  NotFoundError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  UnsupportedMediaTypeError,
  ValidationFailedError,
} from './errors'
export {
  type CheckFn,
  type CheckOutcome,
  type CheckReport,
  createReadiness,
  degradedWithout,
  type Readiness,
  type ReadinessCheck,
  type ReadinessReport,
} from './health'
export { createHttpApp, type HttpApp, type HttpAppOptions } from './http-app'
export {
  createLogger,
  LOG_LEVELS,
  type LogFields,
  type Logger,
  type LoggerOptions,
  type LogLevel,
  LogLevelSchema,
} from './logger'
export { createMetrics, type HttpMetrics, type MetricsOptions } from './metrics'
export { createShutdown, type Shutdown, type ShutdownOptions, type StoppableServer } from './shutdown'
export { typeboxDetails } from './validation'
