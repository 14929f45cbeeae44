import { KafkaUsageError } from './errors'
import type { Producer, ProducerOptions } from './types'

export function createProducer(_options: ProducerOptions): Producer {
  throw new KafkaUsageError('createProducer: implementation follows')
}
