/**
 * The sample vehicle that tests (and the serde bench) post or wrap in an event when the vehicle itself is
 * not what they look at: a create body that passes every rule of the contract, written once. Frozen, as
 * every test file of a run shares it.
 */
export const SAMPLE_VEHICLE = Object.freeze({
  vin: 'WVWZZZ1JZXW000001',
  manufacturer: 'Volkswagen',
  model: 'Golf',
  year: 2022,
  odometer: 1000,
  odometerUnit: 'km' as const,
})
