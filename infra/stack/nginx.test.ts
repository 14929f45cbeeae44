import { expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig, repoRoot } from './config'
import { renderNginxConf } from './nginx'

const source = readFileSync(join(repoRoot, 'nginx.conf'), 'utf8')

test('the compose nginx.conf renders to loopback upstreams, the stack port and stack paths', () => {
  const config = { ...loadConfig(), dir: '/srv/stack' }
  config.ports = { ...config.ports, registry: [28091, 28092, 28093], nginx: 28081 }
  const rendered = renderNginxConf(source, config, '/srv/stack/nginx')
  expect(rendered).toContain('server 127.0.0.1:28091 ')
  expect(rendered).toContain('server 127.0.0.1:28093 ')
  expect(rendered).toContain('listen 127.0.0.1:28081;')
  expect(rendered).toContain('pid /srv/stack/nginx/nginx.pid;')
  expect(rendered).toContain('proxy_temp_path /srv/stack/nginx/tmp/proxy;')
  expect(rendered).not.toMatch(/schema-registry-\d:8080|listen 8081|\/tmp\/nginx/)
  // Docker's DNS and `resolve` (nginx 1.27.3+) are compose's; loopback upstreams need neither.
  expect(rendered).not.toMatch(/^\s*resolver\b| resolve;/m)
  expect(source).toMatch(/^\s*resolver 127\.0\.0\.11 /m)
})

test('a nginx.conf whose upstream lines moved is refused instead of half-rendered', () => {
  const broken = source.replace('server schema-registry-2:8080', 'server registry-two:8080')
  expect(() => renderNginxConf(broken, loadConfig(), '/srv/stack/nginx')).toThrow(/schema-registry-2/)
})

test('the rendered file is valid for nginx itself (nginx -t)', async () => {
  const home = mkdtempSync(join(tmpdir(), 'stack-nginx-'))
  try {
    const conf = join(home, 'nginx.conf')
    // nginx creates only the last segment of a temp path; the stack makes tmp/ in prepare().
    mkdirSync(join(home, 'tmp'))
    writeFileSync(conf, renderNginxConf(source, loadConfig(), home))
    const check = Bun.spawn(['/usr/sbin/nginx', '-t', '-p', `${home}/`, '-c', conf, '-e', 'stderr'], {
      // access_log /dev/stdout must be openable: a file or /dev/null, as in the stack (not a socket).
      stdout: 'ignore',
      stderr: 'pipe',
    })
    const [code, stderr] = await Promise.all([check.exited, new Response(check.stderr).text()])
    expect(stderr).toContain('syntax is ok')
    expect(code, stderr).toBe(0)
  } finally {
    rmSync(home, { recursive: true, force: true })
  }
})

test('every error nginx can produce is answered with a JSON body, never its HTML page', () => {
  const pages = [...source.matchAll(/error_page (\d+) \/_error\/(\d+);/g)].map((m) => m[1])
  expect(pages).toEqual(expect.arrayContaining(['400', '413', '500', '502', '503', '504']))
  for (const code of pages) {
    const location = new RegExp(
      `location = /_error/${code} \\{ internal; return \\d+ '(\\{.*\\})'; \\}`,
    ).exec(source)
    expect(location?.[1], `JSON body for ${code}`).toBeDefined()
    expect(JSON.parse(location?.[1] ?? '')).toMatchObject({
      error_code: expect.any(Number),
      message: expect.any(String),
    })
  }
  expect(source).toContain('default_type application/json;')
  expect(source).toMatch(/proxy_next_upstream error timeout http_502 http_503/)
})

/** A free loopback port for nginx to listen on (the kernel picks it, then it is released). */
function freePort(): number {
  const probe = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const port = probe.port
  probe.stop(true)
  return port
}

test('a schema id unknown to a lagging instance is asked of the next one; unknown to all, the 404 passes', async () => {
  // Three stand-in registries: the first has not applied the journal entry for id 7 yet.
  const hits = [0, 0, 0]
  const instances = [0, 1, 2].map((index) =>
    Bun.serve({
      hostname: '127.0.0.1',
      port: 0,
      fetch(request) {
        hits[index] = (hits[index] ?? 0) + 1
        const known = new URL(request.url).pathname === '/apis/ccompat/v7/schemas/ids/7' && index > 0
        return known
          ? Response.json({ schema: '{"type":"object"}' })
          : Response.json({ error_code: 40403, message: 'Schema not found' }, { status: 404 })
      },
    }),
  )
  const home = mkdtempSync(join(tmpdir(), 'stack-nginx-'))
  mkdirSync(join(home, 'tmp'))
  const config = { ...loadConfig(), dir: home }
  const port = (index: number) => instances[index]?.port ?? 0
  config.ports = {
    ...config.ports,
    registry: [port(0), port(1), port(2)],
    nginx: freePort(),
  }
  const conf = join(home, 'nginx.conf')
  writeFileSync(conf, renderNginxConf(source, config, home))
  const nginx = Bun.spawn(
    ['/usr/sbin/nginx', '-p', `${home}/`, '-c', conf, '-e', 'stderr', '-g', 'daemon off;'],
    {
      stdout: 'ignore',
      stderr: 'pipe',
    },
  )
  const base = `http://127.0.0.1:${config.ports.nginx}/apis/ccompat/v7/schemas/ids`
  try {
    let up = false
    for (let attempt = 0; attempt < 50 && !up; attempt++) {
      up = await fetch(`http://127.0.0.1:${config.ports.nginx}/health`).then(
        (r) => r.ok,
        () => false,
      )
      if (!up) await Bun.sleep(100)
    }
    expect(up, 'nginx did not answer /health within 5 s').toBe(true)

    const statuses: number[] = []
    for (let i = 0; i < 9; i++) statuses.push((await fetch(`${base}/7`)).status)
    expect(statuses, `answers for id 7, hits per instance ${hits.join('/')}`).toEqual(Array(9).fill(200))
    // Round robin must have sent some of those to the lagging instance first, or nothing was tested.
    expect(hits[0]).toBeGreaterThan(0)

    const unknown = await fetch(`${base}/8`)
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toEqual({ error_code: 40403, message: 'Schema not found' })
  } finally {
    nginx.kill('SIGQUIT')
    await nginx.exited
    for (const instance of instances) instance.stop(true)
    rmSync(home, { recursive: true, force: true })
  }
})
