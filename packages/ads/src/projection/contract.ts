/**
 * Binds the processed-event contract for the topic this instance reads. The decoder is keyed by the
 * system's topic name (`decode(TOPICS.vehicleProcessed, …)`), while the registry subject follows the topic
 * actually read (`<topic>-value`, TopicNameStrategy): in the system they are the same, and a test that
 * feeds a topic of its own registers the same schema under its own subject.
 */
import { type Contracts, connectContracts, EVENT_CONTRACTS, subjectOf, TOPICS } from '@vehicles/contracts'

export function processedContract(inputTopic: string) {
  const contract = EVENT_CONTRACTS.find((c) => c.topic === TOPICS.vehicleProcessed)
  if (contract === undefined)
    throw new Error(`@vehicles/contracts carries no contract for ${TOPICS.vehicleProcessed}`)
  return { ...contract, subject: subjectOf(inputTopic) }
}

export function connectProcessedContract(registryUrl: string, inputTopic: string): Promise<Contracts> {
  return connectContracts({ registryUrl, contracts: [processedContract(inputTopic)] })
}
