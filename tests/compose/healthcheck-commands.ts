/**
 * compose's healthcheck commands, runnable on this machine: `$$` unescaped as the engine does, and the
 * in-container address (127.0.0.1:<container port>) pointed at a local stand-in.
 */
import { type ComposeModel, loadCompose } from '../../infra/compose/config'
import { runCommand as run } from '../../packages/testing/src/index'

let cached: ComposeModel | undefined

/** The `test` of a service's healthcheck as argv, with `$$` turned back into `$`. */
export function healthcheckArgv(service: string): string[] {
  cached ??= loadCompose()
  const test = cached.services[service]?.healthcheck?.test
  if (test === undefined || test.length < 2) throw new Error(`${service} has no healthcheck`)
  const [kind, ...rest] = test
  const argv = kind === 'CMD-SHELL' ? ['sh', '-c', rest.join(' ')] : rest
  return argv.map((arg) => arg.replaceAll('$$', '$'))
}

/** Replaces `from` (e.g. `127.0.0.1/2181` or `127.0.0.1:9092`) in every argument. */
export function retarget(argv: string[], from: string, to: string): string[] {
  if (!argv.some((arg) => arg.includes(from))) throw new Error(`'${from}' is not in ${JSON.stringify(argv)}`)
  return argv.map((arg) => arg.replaceAll(from, to))
}

/** Asynchronous, so a stand-in server in the same process can answer while the command runs. */
export function runCommand(argv: string[], env: Record<string, string> = {}, timeoutMs = 60_000) {
  return run(argv, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, timeoutMs })
}
