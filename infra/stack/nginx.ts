/**
 * nginx (Debian) in front of the registries. The root nginx.conf is the one definition (compose mounts
 * it); the local stack renders it with loopback ports and paths under the stack dir.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Component, singleton } from './component'
import { repoRoot, type StackConfig } from './config'
import { httpReady } from './probes'

const NGINX = '/usr/sbin/nginx'

/** Rewrites the compose nginx.conf for the local stack; throws if an expected line moved. */
export function renderNginxConf(source: string, config: StackConfig, home: string): string {
  let out = source
  const replace = (pattern: RegExp, replacement: string, what: string) => {
    if (!pattern.test(out)) throw new Error(`nginx.conf: cannot find ${what} to rewrite for the local stack`)
    out = out.replace(pattern, replacement)
  }
  for (const id of [1, 2, 3]) {
    replace(
      new RegExp(`server schema-registry-${id}:8080`),
      `server 127.0.0.1:${config.ports.registry[id - 1]}`,
      `upstream schema-registry-${id}`,
    )
  }
  // Loopback addresses need no DNS, and Debian's nginx (1.22) predates `resolve` in upstreams.
  replace(/^\s*resolver(_timeout)? [^;]*;\n/gm, '', 'resolver')
  replace(/ resolve;/g, ';', 'resolve')
  replace(/listen 8081;/, `listen 127.0.0.1:${config.ports.nginx};`, 'listen 8081')
  replace(/^pid .*;$/m, `pid ${join(home, 'nginx.pid')};`, 'pid')
  replace(/\/tmp\/nginx\//g, `${join(home, 'tmp')}/`, 'temp paths')
  return `# Rendered from nginx.conf by infra/stack/nginx.ts; edit the source, not this file.\n${out}`
}

export function nginxComponent(config: StackConfig): Component {
  const home = join(config.dir, 'nginx')
  const conf = join(home, 'nginx.conf')
  const port = config.ports.nginx
  return {
    ...singleton('nginx', port, `http://127.0.0.1:${port}`, 15_000),
    // SIGQUIT lets workers finish their requests.
    stopSignal: 'SIGQUIT',
    async prepare() {
      mkdirSync(join(home, 'tmp'), { recursive: true })
      writeFileSync(conf, renderNginxConf(readFileSync(join(repoRoot, 'nginx.conf'), 'utf8'), config, home))
    },
    launch() {
      return {
        // -e: the log used before the config is read (else /var/log/nginx/error.log).
        argv: [NGINX, '-p', `${home}/`, '-c', conf, '-e', 'stderr', '-g', 'daemon off;'],
        cwd: home,
        marker: conf,
      }
    },
    ready: () => httpReady(`http://127.0.0.1:${port}/health`, /"UP"/),
  }
}
