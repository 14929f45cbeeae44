/**
 * The reference's settings, from its command line (`--port 3902 --database-url postgres://… --pool 10`),
 * checked before anything starts: the benchmark harness passes the same values to every candidate.
 */
export interface RefConfig {
  port: number
  host: string
  databaseUrl: string
  pool: number
}

export function parseArgs(argv: string[]): RefConfig {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`)
    return i === -1 ? undefined : argv[i + 1]
  }
  const int = (name: string, min: number, max: number, fallback: number): number => {
    const raw = value(name)
    if (raw === undefined) return fallback
    const n = Number(raw)
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`--${name}: ${raw} is not an integer in ${min}..${max}`)
    return n
  }
  const databaseUrl = value('database-url')
  if (databaseUrl === undefined || !/^postgres(ql)?:\/\//.test(databaseUrl))
    throw new Error('--database-url: a postgres:// URL is required')
  return {
    port: int('port', 1, 65_535, 3902),
    host: value('host') ?? '127.0.0.1',
    databaseUrl,
    pool: int('pool', 1, 200, 10),
  }
}
