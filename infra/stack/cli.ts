/**
 * The local stack, without Docker:
 *
 *   bun run stack prepare            fetch and build everything into .stack/ (nothing starts)
 *   bun run stack up [group...]      start (all, or e.g. `zookeeper kafka`), wait for health, write stack.env
 *   bun run stack down               stop exactly the recorded processes
 *   bun run stack status             what runs, its pid, memory and health (exit 1 unless all ready)
 *   bun run stack logs <name>        a component's log
 *   bun run stack start|stop <name>  one component; `stop <name> --kill` is a kill -9
 *   bun run stack reset              down, then delete data and logs (downloads and builds stay)
 */
import { existsSync, readFileSync } from 'node:fs'
import { ConfigError, loadConfig } from './config'
import {
  down,
  envFile,
  GROUPS,
  openStack,
  prepare,
  reset,
  startComponent,
  status,
  stopComponent,
  up,
} from './control'

const usage =
  'usage: bun run stack up | down | status | logs <name> | reset | start <name> | stop <name> [--kill]'

const say = (line: string) => console.log(line)

async function main(argv: string[]): Promise<number> {
  const [command, name, flag] = argv
  const stack = openStack(loadConfig())
  const started = performance.now()
  const took = () => `${((performance.now() - started) / 1000).toFixed(1)} s`
  switch (command) {
    case 'up': {
      const groups = argv.slice(1)
      const unknown = groups.filter((group) => !(GROUPS as readonly string[]).includes(group))
      if (unknown.length > 0)
        throw new Error(`unknown group ${unknown.join(', ')}; groups: ${GROUPS.join(', ')}`)
      await up(stack, say, groups.length > 0 ? (groups as (typeof GROUPS)[number][]) : [...GROUPS])
      console.log(`\nstack up in ${took()}; endpoints in ${envFile(stack)}:\n`)
      console.log(readFileSync(envFile(stack), 'utf8'))
      return 0
    }
    case 'prepare':
      await prepare(stack, say)
      console.log(`stack cache ready in ${took()}`)
      return 0
    case 'down':
      await down(stack, say)
      console.log(`stack down in ${took()}`)
      return 0
    case 'reset':
      await reset(stack, say)
      return 0
    case 'status': {
      let healthy = true
      let totalRss = 0
      for (const entry of await status(stack)) {
        const pid = entry.pid === undefined ? '' : ` pid ${entry.pid}`
        const rss = entry.rssMib === undefined ? '' : `${entry.rssMib} MiB`
        const detail = entry.ready ? `ready (${entry.ready})` : (entry.problem ?? '')
        if (entry.state !== 'running' || entry.problem) healthy = false
        totalRss += entry.rssMib ?? 0
        console.log(
          `${entry.name.padEnd(12)} ${entry.state.padEnd(8)}${pid.padEnd(12)} ${rss.padStart(8)}  ${entry.endpoint.padEnd(24)} ${detail}`,
        )
      }
      console.log(`total RSS ${totalRss} MiB; ${healthy ? 'all ready' : 'NOT all ready'}`)
      return healthy ? 0 : 1
    }
    case 'logs': {
      if (name === undefined) break
      const file = stack.processes.logFile(name)
      if (!existsSync(file)) throw new Error(`no log for ${name} at ${file}`)
      process.stdout.write(readFileSync(file, 'utf8'))
      return 0
    }
    case 'start':
      if (name === undefined) break
      await startComponent(name, stack, say)
      return 0
    case 'stop':
      if (name === undefined) break
      say(
        `${name}: ${await stopComponent(name, { signal: flag === '--kill' ? 'SIGKILL' : 'SIGTERM' }, stack)}`,
      )
      return 0
  }
  console.error(usage)
  return 2
}

try {
  process.exitCode = await main(process.argv.slice(2))
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`stack: bad configuration: ${error.message}`)
    process.exitCode = 2
  } else {
    console.error(`stack: ${error instanceof Error ? error.message : String(error)}`)
    process.exitCode = 1
  }
}
