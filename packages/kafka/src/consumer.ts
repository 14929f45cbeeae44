import { KafkaUsageError } from './errors'
import type { Consumer, ConsumerOptions } from './types'

export function createConsumer(_options: ConsumerOptions): Consumer {
  throw new KafkaUsageError('createConsumer: implementation follows')
}
