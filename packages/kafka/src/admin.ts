import { KafkaUsageError } from './errors'
import type { Admin, AdminOptions } from './types'

export function createAdmin(_options: AdminOptions): Admin {
  throw new KafkaUsageError('createAdmin: implementation follows')
}
