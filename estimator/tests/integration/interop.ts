/**
 * The TypeScript half of the estimator's interop test (run by test_interop.py with `bun`).
 * Reads {registryUrl, createdSubject, processedSubject, created, processedHex} as JSON on stdin, binds
 * packages/contracts (imported by path: estimator/ is not a Bun workspace) to the given subjects, and prints {createdHex, processed}: a created event encoded
 * by the TypeScript serde, and the Python-encoded processed record as the TypeScript serde decodes it.
 */
import { connectContracts, EVENT_CONTRACTS, TOPICS, type VehicleCreatedEvent } from '../../../packages/contracts/src/index'

interface Input {
  registryUrl: string
  createdSubject: string
  processedSubject: string
  created: VehicleCreatedEvent
  processedHex: string
}

const input = JSON.parse(await Bun.stdin.text()) as Input
const contracts = EVENT_CONTRACTS.map((contract) => ({
  ...contract,
  subject: contract.topic === TOPICS.vehicleCreated ? input.createdSubject : input.processedSubject,
}))
const bound = await connectContracts({ registryUrl: input.registryUrl, contracts })
const createdHex = bound.encode(TOPICS.vehicleCreated, input.created).toString('hex')
const processed = await bound.decode(TOPICS.vehicleProcessed, Buffer.from(input.processedHex, 'hex'))
process.stdout.write(JSON.stringify({ createdHex, processed }))
