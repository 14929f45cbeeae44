/**
 * The stack's schema registry for this package's integration tests. It stays here, not in
 * packages/testing, because it is made of this package's own registry client, the code under test.
 */
import { stackEnv, waitFor } from '@vehicles/testing'
import { RegistryClient } from '../registry-client'

/**
 * For `*.int.test.ts` only: the registry URL of the local stack, once `GET /subjects` answers JSON.
 * Fails (never skips) when the stack is not up or the registry does not answer within the deadline.
 */
export async function liveRegistry(): Promise<{ url: string; client: RegistryClient }> {
  const url = stackEnv().SCHEMA_REGISTRY_URL
  const client = new RegistryClient({ url, retry: { attempts: 1, timeoutMs: 3000 } })
  await waitFor(`the schema registry at ${url} to answer GET /subjects`, () => client.subjects(), {
    timeoutMs: 60_000,
    intervalMs: 1000,
  })
  return { url, client: new RegistryClient({ url }) }
}

/** Removes a throwaway subject (soft, then permanent); a failure here only leaves clutter. */
export async function dropSubject(client: RegistryClient, subject: string): Promise<void> {
  const path = `/subjects/${encodeURIComponent(subject)}`
  await client.request('DELETE', path).catch(() => undefined)
  await client.request('DELETE', `${path}?permanent=true`).catch(() => undefined)
}
