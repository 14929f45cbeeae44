import { expect, test } from 'bun:test'
import { MultipleErrors, NetworkError, ProtocolError, UserError } from '@platformatic/kafka'
import { toKafkaError } from './client-errors'
import { KafkaDeliveryError, KafkaTopicNotFoundError, KafkaUnavailableError } from './errors'

test('a network failure nested in an aggregate is KafkaUnavailableError (retriable)', () => {
  const error = new MultipleErrors('Producing messages failed.', [new NetworkError('Connection closed')])
  const typed = toKafkaError(error, 'send', 't')
  expect(typed).toBeInstanceOf(KafkaUnavailableError)
  expect(typed.retriable).toBe(true)
  expect(typed.message).toContain('Connection closed')
})

test('NOT_ENOUGH_REPLICAS means the cluster cannot take acks=all writes now: unavailable', () => {
  const typed = toKafkaError(new ProtocolError('NOT_ENOUGH_REPLICAS'), 'send', 't')
  expect(typed).toBeInstanceOf(KafkaUnavailableError)
})

test('unknown topic is KafkaTopicNotFoundError naming the topic', () => {
  const typed = toKafkaError(new UserError('Unknown topic nope.'), 'send', 'nope')
  expect(typed).toBeInstanceOf(KafkaTopicNotFoundError)
  expect((typed as KafkaTopicNotFoundError).topic).toBe('nope')
})

test('any other failure of a send is a KafkaDeliveryError for that topic', () => {
  const typed = toKafkaError(new ProtocolError('MESSAGE_TOO_LARGE'), 'send', 'big')
  expect(typed).toBeInstanceOf(KafkaDeliveryError)
  expect((typed as KafkaDeliveryError).topic).toBe('big')
  expect(typed.retriable).toBe(false)
})
