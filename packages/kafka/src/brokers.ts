/** Splits a `KAFKA_BROKERS` value (`host:port,host:port`) into the broker list the factories take. */
export function parseBrokers(value: string): string[] {
  const brokers = value
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0)
  for (const broker of brokers) {
    if (!/^[^\s:]+:\d{1,5}$/.test(broker)) throw new Error(`broker "${broker}" is not host:port`)
  }
  if (brokers.length === 0) throw new Error('broker list is empty')
  return brokers
}
