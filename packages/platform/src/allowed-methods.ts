/**
 * Which methods a path answers, from the app's route table: a request with another method gets 405 with
 * `Allow` (RFC 9110 §15.5.6), not a 404 that says the resource does not exist.
 */
export interface RouteEntry {
  method: string
  path: string
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** `/stock/:id` → /^\/stock\/[^/]+$/; a trailing `*` matches the rest. */
function matcher(pattern: string): RegExp {
  const source = pattern
    .split('/')
    .map((part) => (part.startsWith(':') ? '[^/]+' : part === '*' ? '.*' : escapeRegex(part)))
    .join('/')
  return new RegExp(`^${source}$`)
}

const cache = new Map<string, RegExp>()

/** The methods of every route whose pattern matches `path`, upper case, sorted; empty when none. */
export function allowedMethods(routes: readonly RouteEntry[], path: string): string[] {
  const methods = new Set<string>()
  for (const route of routes) {
    let regex = cache.get(route.path)
    if (regex === undefined) {
      regex = matcher(route.path)
      cache.set(route.path, regex)
    }
    if (regex.test(path)) methods.add(route.method.toUpperCase())
  }
  return [...methods].sort()
}
