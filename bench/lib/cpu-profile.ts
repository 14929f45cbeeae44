/**
 * Reads the markdown CPU profile Bun writes on exit (`bun --cpu-prof --cpu-prof-md`) and sums self time
 * by package, so a benchmark can say where a service's CPU went (its framework, its driver, its own code)
 * instead of guessing.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

export interface ProfileSummary {
  totalMs: number
  byPackage: { name: string; ms: number; share: number }[]
  hot: { fn: string; location: string; ms: number; share: number }[]
}

const toMs = (text: string): number => {
  const match = /^([\d.]+)(us|ms|s)$/.exec(text.trim())
  if (match === null) return 0
  const value = Number(match[1])
  return match[2] === 'us' ? value / 1000 : match[2] === 's' ? value * 1000 : value
}

/** `/…/node_modules/.bun/x@1/node_modules/@scope/y/dist/z.js` → `@scope/y`; `/…/packages/stock/src/a.ts` → `@vehicles/stock`. */
export function packageOf(path: string): string {
  const modules = path.lastIndexOf('/node_modules/')
  if (modules !== -1) {
    const rest = path.slice(modules + '/node_modules/'.length).split('/')
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? path)
  }
  const own = /\/packages\/([^/]+)\//.exec(path)
  if (own !== null) return `@vehicles/${own[1]}`
  if (path === '' || path.startsWith('[')) return '(runtime: native code, GC, idle)'
  if (path.startsWith('node:') || path.startsWith('bun:') || !path.startsWith('/'))
    return `(runtime: ${path.split(':')[0]})`
  return path
}

export function summarizeProfile(markdown: string, top = 12): ProfileSummary {
  const section = (title: string) => {
    const start = markdown.indexOf(`## ${title}`)
    if (start === -1) return []
    const end = markdown.indexOf('\n## ', start + 3)
    return markdown
      .slice(start, end === -1 ? undefined : end)
      .split('\n')
      .filter((line) => /^\|\s*[\d.]+%/.test(line))
      .map((line) =>
        line
          .split('|')
          .slice(1, -1)
          .map((cell) => cell.trim().replace(/^`|`$/g, '')),
      )
  }
  const packages = new Map<string, number>()
  let totalMs = 0
  for (const [, self = '', file = ''] of section('Files')) {
    const ms = toMs(self)
    totalMs += ms
    const name = packageOf(file)
    packages.set(name, (packages.get(name) ?? 0) + ms)
  }
  const byPackage = [...packages]
    .map(([name, ms]) => ({ name, ms, share: totalMs === 0 ? 0 : ms / totalMs }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, top)
  const hot = section('Hot Functions (Self Time)')
    .slice(0, top)
    .map(([, self = '', , , fn = '', location = '']) => ({
      fn,
      location: location.replace(/^.*\/node_modules\//, '').replace(/^.*\/packages\//, 'packages/'),
      ms: toMs(self),
      share: totalMs === 0 ? 0 : toMs(self) / totalMs,
    }))
  return { totalMs, byPackage, hot }
}

/** The newest markdown profile in `dir`. */
export function newestProfile(dir: string): string | undefined {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.md'))
    .sort()
  const last = files.at(-1)
  return last === undefined ? undefined : readFileSync(join(dir, last), 'utf8')
}
