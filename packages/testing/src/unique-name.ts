/**
 * A name no other run, and no other helper on the shared stack, uses (topics, groups, client and
 * transactional ids, registry subjects), prefixed so a leftover says which test made it.
 */
export function uniqueName(prefix: string): string {
  return `test.${prefix}.${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`
}
