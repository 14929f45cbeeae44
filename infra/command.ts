/**
 * Runs a command to its end and collects what it printed: the one spawn-and-collect of the infra
 * tooling (the local stack, the system runner, the image smoke run), and the one "is this port taken"
 * probe they share.
 */

export interface CommandResult {
  code: number
  out: string
  err: string
}

export interface CommandOptions {
  /** Added to (and overriding) this process's environment. */
  env?: Record<string, string | undefined>
  cwd?: string
  /** Written to the command's standard input; none when absent. */
  stdin?: string
  /** Killed with SIGKILL after this long; its exit code then says so. */
  timeoutMs?: number
}

export async function runCommand(argv: string[], options: CommandOptions = {}): Promise<CommandResult> {
  const child = Bun.spawn(argv, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdin: options.stdin === undefined ? 'ignore' : new Blob([options.stdin]),
    stdout: 'pipe',
    stderr: 'pipe',
    ...(options.timeoutMs === undefined
      ? {}
      : { timeout: options.timeoutMs, killSignal: 'SIGKILL' as const }),
  })
  const [out, err, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ])
  return { code, out, err }
}

/** Runs a command that must succeed and returns its standard output; a failure names it, with its output. */
export async function mustRunCommand(argv: string[], options: CommandOptions = {}): Promise<string> {
  const { code, out, err } = await runCommand(argv, options)
  if (code !== 0) throw new Error(`${argv.join(' ')} failed (exit ${code}):\n${out}${err}`)
  return out
}

/** Whether something accepts connections on a loopback port. */
export async function portTaken(port: number): Promise<boolean> {
  try {
    const socket = await Bun.connect({ hostname: '127.0.0.1', port, socket: { data: () => {} } })
    socket.end()
    return true
  } catch {
    return false
  }
}
