/**
 * Child processes for tests: run a command to its end and collect what it printed, or follow a
 * long-running one's output line by line. Every test that spawns something goes through here, so a
 * deadline (SIGKILL after `timeoutMs`) and the output in failure messages come with it.
 */
import { resolve } from 'node:path'
import { repoRoot } from './stack-env'

export interface RunOptions {
  cwd?: string
  /** The child's whole environment (default: this process's). */
  env?: Record<string, string | undefined>
  /** Written to its stdin, which is closed after it; without it stdin is empty. */
  input?: string | Uint8Array
  /** SIGKILL after this long (default 120 000 ms). */
  timeoutMs?: number
}

export interface RunResult<Out = string> {
  code: number
  stdout: Out
  stderr: string
  /** Exit code and both streams, for failure messages. */
  output: string
}

function spawnCollecting(argv: string[], options: RunOptions) {
  return Bun.spawn(argv, {
    cwd: options.cwd,
    env: options.env,
    stdin: options.input === undefined ? 'ignore' : new Blob([options.input]),
    stdout: 'pipe',
    stderr: 'pipe',
    timeout: options.timeoutMs ?? 120_000,
    killSignal: 'SIGKILL',
  })
}

/** Runs `argv` to its end and returns its exit code and output as text. */
export async function runCommand(argv: string[], options: RunOptions = {}): Promise<RunResult> {
  const child = spawnCollecting(argv, options)
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ])
  return { code, stdout, stderr, output: `exit ${code}\nstdout: ${stdout}\nstderr: ${stderr}` }
}

/** Like `runCommand`, with stdout as bytes (binary record values, exact payloads). */
export async function runCommandBytes(argv: string[], options: RunOptions = {}): Promise<RunResult<Buffer>> {
  const child = spawnCollecting(argv, options)
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).arrayBuffer(),
    new Response(child.stderr).text(),
    child.exited,
  ])
  return { code, stdout: Buffer.from(stdout), stderr, output: `exit ${code}\nstderr: ${stderr}` }
}

/** `runCommand` that throws with the command and its output unless it exits 0; resolves to stdout. */
export async function runChecked(argv: string[], options: RunOptions = {}): Promise<string> {
  const result = await runCommand(argv, options)
  if (result.code !== 0) throw new Error(`${argv.join(' ')}: ${result.output}`)
  return result.stdout
}

/**
 * Reads `stream` to its end, calling `onLine` with every complete line (and the last, unterminated
 * one). For processes that run on while a test watches their output.
 */
export async function forEachLine(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  const decoder = new TextDecoder()
  let buffer = ''
  for await (const chunk of stream) {
    buffer += decoder.decode(chunk, { stream: true })
    let at = buffer.indexOf('\n')
    while (at !== -1) {
      onLine(buffer.slice(0, at))
      buffer = buffer.slice(at + 1)
      at = buffer.indexOf('\n')
    }
  }
  if (buffer.length > 0) onLine(buffer)
}

/** `bun run stack <args>` of this checkout (STACK_DIR etc. from the environment), to its end. */
export function stackCommand(args: string[], timeoutMs = 600_000): Promise<RunResult> {
  return runCommand(['bun', resolve(repoRoot, 'infra/stack/cli.ts'), ...args], { cwd: repoRoot, timeoutMs })
}
