/**
 * The root nginx.conf, in the form compose runs it (upstreams `schema-registry-N:8080`, listening on
 * 8081): `nginx -t` must accept it. nginx resolves upstream host names when it loads the file, and
 * those names exist only inside the compose network, so the check maps them to 127.0.0.1. As root it
 * runs in a private mount namespace that looks like the container: its own /etc/hosts, an empty /tmp
 * with compose's tmpfs mounts, and the file tested byte for byte. Otherwise it runs on a copy whose
 * upstream host names are replaced by 127.0.0.1.
 *
 * The host's nginx may be older than the image's (Debian 12 has 1.22; compose runs 1.27.5): the one
 * upstream parameter open-source nginx gained since, `resolve` (1.27.3), is taken out for an older
 * nginx, and first-start.test.ts holds that the image is new enough for it.
 */
import { describe, expect, test } from 'bun:test'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadCompose, repoRoot } from '../../infra/compose/config'

const confPath = join(repoRoot, 'nginx.conf')

function readConf(): string {
  if (!existsSync(confPath)) {
    throw new Error(`${confPath} does not exist yet (the registry balancer's configuration, issue 7)`)
  }
  return readFileSync(confPath, 'utf8')
}

/** `host:port` of every `server` line inside `upstream { }` blocks. */
function upstreamServers(conf: string): { host: string; port: string }[] {
  const servers: { host: string; port: string }[] = []
  for (const [, body] of conf.matchAll(/upstream\s+[\w-]+\s*\{([^}]*)\}/g)) {
    for (const [, host, port] of (body ?? '').matchAll(/^\s*server\s+([A-Za-z0-9.-]+):(\d+)/gm)) {
      servers.push({ host: host ?? '', port: port ?? '' })
    }
  }
  return servers
}

function which(command: string): boolean {
  return Bun.spawnSync(['sh', '-c', `command -v ${command}`]).exitCode === 0
}

/** nginx.conf as the host's nginx can read it: without `resolve` when that nginx predates it. */
function forHostNginx(conf: string): string {
  const version =
    /nginx\/(\d+)\.(\d+)\.(\d+)/
      .exec(run(['nginx', '-v']).output)
      ?.slice(1)
      .map(Number) ?? []
  const [major = 0, minor = 0, patch = 0] = version
  const knowsResolve = major * 1_000_000 + minor * 1_000 + patch >= 1_027_003
  return knowsResolve ? conf : conf.replaceAll(/ resolve;/g, ';')
}

function run(cmd: string[]): { code: number; output: string } {
  const child = Bun.spawnSync(cmd, { stdout: 'pipe', stderr: 'pipe' })
  return { code: child.exitCode ?? -1, output: `${child.stdout.toString()}${child.stderr.toString()}` }
}

describe('nginx.conf', () => {
  test('its upstreams are the three registry containers of compose.yaml on 8080, and it listens on 8081', () => {
    const conf = readConf()
    const registries = Object.keys(loadCompose().services).filter((name) =>
      /^schema-registry-\d+$/.test(name),
    )
    expect(registries.length).toBe(3)
    expect(upstreamServers(conf)).toEqual(registries.sort().map((host) => ({ host, port: '8080' })))
    expect(conf).toMatch(/^\s*listen\s+(\S+:)?8081\b/m)
  })

  test('it retries the next registry on error, timeout, 502 and 503, answers errors as JSON, limits bodies', () => {
    const conf = readConf()
    const retry = /proxy_next_upstream\s+([^;]+);/.exec(conf)?.[1]?.split(/\s+/) ?? []
    expect(retry).toEqual(expect.arrayContaining(['error', 'timeout', 'http_502', 'http_503']))
    expect(conf).toMatch(/client_max_body_size\s+\d+[kKmM]?;/)
    expect(conf).toMatch(/error_page\s+[^;]*50[23]/)
    expect(conf).toMatch(/application\/json/)
  })

  test('nginx -t passes with the upstream names resolvable', () => {
    const conf = readConf()
    expect(which('nginx')).toBe(true)
    const hosts = [...new Set(upstreamServers(conf).map((server) => server.host))]
    expect(hosts.length).toBeGreaterThan(0)
    const dir = mkdtempSync(join(tmpdir(), 'nginx-check-'))
    try {
      // Relative includes (mime.types...) resolve against the configuration's own directory.
      const stockMime = '/etc/nginx/mime.types'
      if (/include\s+mime\.types;/.test(conf) && existsSync(stockMime)) {
        copyFileSync(stockMime, join(dir, 'mime.types'))
      }
      // A mount namespace needs root and CAP_SYS_ADMIN, which a container's root usually lacks.
      const asRoot =
        process.getuid?.() === 0 && which('unshare') && run(['unshare', '--mount', 'true']).code === 0
      let result: { code: number; output: string }
      if (asRoot) {
        const hostsFile = join(dir, 'hosts')
        writeFileSync(
          hostsFile,
          `127.0.0.1 localhost\n${hosts.map((host) => `127.0.0.1 ${host}`).join('\n')}\n`,
        )
        writeFileSync(join(dir, 'nginx.conf'), forHostNginx(conf))
        // The container's view: its own empty /tmp plus the tmpfs mounts compose gives the service.
        const tmpfs = (loadCompose().services['schema-registry']?.tmpfs ?? []).map(
          (entry) => entry.split(':')[0],
        )
        result = run([
          'unshare',
          '--mount',
          'sh',
          '-c',
          [
            'mount --bind "$1" /etc/hosts',
            'mount --bind "$2" /mnt',
            'mount -t tmpfs tmpfs /tmp',
            'for dir in $3; do mkdir -p "$dir"; done',
            // Into a file: /dev/stderr cannot be opened on the socket Bun gives a child as stderr.
            'nginx -t -p /mnt/ -c /mnt/nginx.conf -e stderr >/mnt/out 2>&1; code=$?; cat /mnt/out; exit $code',
          ].join(' && '),
          'sh',
          hostsFile,
          dir,
          tmpfs.join(' '),
        ])
      } else {
        // Without a mount namespace: upstream host names replaced on a copy, and the temp folders (a
        // tmpfs in compose, absent from the host's /tmp) moved into the check's own folder.
        mkdirSync(join(dir, 'tmp'))
        let rendered = forHostNginx(conf).replaceAll('/tmp/nginx/', `${dir}/tmp/`)
        for (const host of hosts) {
          rendered = rendered.replaceAll(
            new RegExp(`(server\\s+)${host.replaceAll('.', '\\.')}:`, 'g'),
            '$1127.0.0.1:',
          )
        }
        writeFileSync(join(dir, 'nginx.conf'), rendered)
        result = run([
          'sh',
          '-c',
          'nginx -t -p "$1/" -c "$1/nginx.conf" -e stderr >"$1/out" 2>&1; code=$?; cat "$1/out"; exit $code',
          'sh',
          dir,
        ])
      }
      if (result.code !== 0) console.error(`nginx -t said:\n${result.output}`)
      expect(result.output).toContain('test is successful')
      expect(result.code).toBe(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('the local stack runs the same file in front of its registries', () => {
    // So nginx's retry and JSON-error behaviour is exercised for real by the local stack's suites.
    const stackSources = new Bun.Glob('infra/stack/**/*.ts').scanSync({ cwd: repoRoot })
    const users = [...stackSources].filter((path) =>
      readFileSync(join(repoRoot, path), 'utf8').includes('nginx.conf'),
    )
    expect(users.length).toBeGreaterThan(0)
  })
})
