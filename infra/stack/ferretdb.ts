/**
 * FerretDB v1.24 (MongoDB wire protocol) built from infra/ferretdb with the Go toolchain, SQLite backend.
 * Telemetry is off twice over: `--telemetry=disable` and DO_NOT_TRACK=1.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runCommand } from '../command'
import { type Component, singleton } from './component'
import { repoRoot, type StackConfig, toolchainPath } from './config'
import { tcpReady } from './probes'

const SOURCE = join(repoRoot, 'infra', 'ferretdb')

export function mongodbUrl(config: StackConfig): string {
  return `mongodb://127.0.0.1:${config.ports.ferretdb}/vehicles`
}

/** Rebuilds only when the module's sources change (a stamp holds their hash). */
async function build(binary: string): Promise<void> {
  const hash = new Bun.CryptoHasher('sha256')
  for (const file of ['go.mod', 'go.sum', 'main.go']) hash.update(readFileSync(join(SOURCE, file)))
  const digest = hash.digest('hex')
  const stamp = `${binary}.source-sha256`
  if (existsSync(binary) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === digest) return
  const { code, out, err } = await runCommand(
    [
      Bun.which('go', { PATH: toolchainPath() }) ?? 'go',
      '-C',
      SOURCE,
      'build',
      '-mod=readonly',
      '-trimpath',
      '-o',
      binary,
      '.',
    ],
    { timeoutMs: 900_000 },
  )
  if (code !== 0) throw new Error(`building FerretDB failed (is Go installed?):\n${out}${err}`)
  writeFileSync(stamp, `${digest}\n`)
}

export function ferretdbComponent(config: StackConfig): Component {
  const home = join(config.dir, 'ferretdb')
  const binary = join(config.dir, 'bin', 'ferretdb')
  const data = join(home, 'data')
  const port = config.ports.ferretdb
  return {
    ...singleton('ferretdb', port, `127.0.0.1:${port}`, 30_000),
    async prepare() {
      mkdirSync(join(config.dir, 'bin'), { recursive: true })
      mkdirSync(data, { recursive: true })
      await build(binary)
    },
    launch() {
      return {
        argv: [
          binary,
          `--listen-addr=127.0.0.1:${port}`,
          '--handler=sqlite',
          `--sqlite-url=file:${data}/`,
          '--telemetry=disable',
        ],
        cwd: home,
        env: { DO_NOT_TRACK: '1' },
        marker: binary,
      }
    },
    ready: () => tcpReady(port),
  }
}
