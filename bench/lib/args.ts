/**
 * Command-line options of the benchmark programs (`--duration 20`), each a bounded integer with a default:
 * a bad value stops the run with the option named, before anything starts.
 */
type NumericOption = (name: string, fallback: number, min: number, max: number, argv?: string[]) => number
const numericOption =
  (integer: boolean): NumericOption =>
  (name, fallback, min, max, argv = process.argv) =>
    numericArg(name, fallback, min, max, integer, argv)

export const intArg = numericOption(true)
/** Like `intArg`, for options that may be fractional (`--warmup 0.2`). */
export const numberArg = numericOption(false)

function numericArg(
  name: string,
  fallback: number,
  min: number,
  max: number,
  integer: boolean,
  argv: string[],
): number {
  const i = argv.indexOf(`--${name}`)
  if (i === -1) return fallback
  const raw = argv[i + 1]
  const value = Number(raw)
  const valid = raw !== undefined && (integer ? Number.isInteger(value) : Number.isFinite(value))
  if (!valid || value < min || value > max) {
    console.error(
      `--${name}: ${raw ?? '(missing)'} is not ${integer ? 'an integer' : 'a number'} in ${min}..${max}`,
    )
    process.exit(2)
  }
  return value
}

export function stringArg(name: string, argv = process.argv): string | undefined {
  const i = argv.indexOf(`--${name}`)
  return i === -1 ? undefined : argv[i + 1]
}

export function flagArg(name: string, argv = process.argv): boolean {
  return argv.includes(`--${name}`)
}
