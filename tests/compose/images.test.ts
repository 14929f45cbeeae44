/**
 * The two Dockerfiles (one for the Bun services, built with the service as an argument, and the
 * estimator's), checked without a Docker engine:
 * - multi-stage, locked installs, a non-root user, a healthcheck;
 * - each Bun image copies exactly the workspace packages its service depends on;
 * - the Bun images' install stage is replayed in a scratch folder (the same manifests, lockfile and
 *   `bun install` command), the copied sources are laid beside it, and every import reachable from the
 *   commands the image runs must resolve there, with production dependencies only.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { loadCompose, repoRoot } from '../../infra/compose/config'

const services = loadCompose().services

/**
 * `.dockerignore` as the builder applies it: a path is out when its last matching pattern excludes it
 * (a `!pattern` brings it back); a pattern that matches a folder keeps everything under it out.
 */
function dockerignore(): (path: string) => boolean {
  const rules = readFileSync(join(repoRoot, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const include = line.startsWith('!')
      const pattern = include ? line.slice(1) : line
      const source = pattern
        .split('/')
        .map((part) =>
          part === '**'
            ? '.*'
            : part
                .replaceAll(/[.+^${}()|[\]\\]/g, '\\$&')
                .replaceAll('*', '[^/]*')
                .replaceAll('?', '[^/]'),
        )
        .join('/')
        .replaceAll('.*/', '(?:.*/)?')
      return { include, regex: new RegExp(`^${source}(?:/.*)?$`) }
    })
  return (path: string) => {
    let excluded = false
    for (const rule of rules) if (rule.regex.test(path)) excluded = !rule.include
    return excluded
  }
}
const ignored = dockerignore()
const scratch = mkdtempSync(join(tmpdir(), 'image-check-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }), 60_000)

interface Stage {
  from: string
  name?: string
  lines: string[]
}

type BuildArgs = Record<string, string>

/**
 * Dockerfile instructions (continuation lines joined, comments dropped), grouped by stage, with each
 * `${NAME}` of a build argument given replaced by its value, as the builder (or RUN's shell) does.
 */
function stages(file: string, args: BuildArgs = {}): Stage[] {
  const text = readFileSync(join(repoRoot, file), 'utf8').replaceAll(/\\\n/g, ' ')
  const result: Stage[] = []
  for (const raw of text.split('\n')) {
    const line = raw
      .trim()
      .replaceAll(/\s+/g, ' ')
      .replaceAll(/\$\{(\w+)\}/g, (whole, name: string) => args[name] ?? whole)
    if (line === '' || line.startsWith('#')) continue
    const from = /^FROM (\S+)(?: AS (\S+))?$/i.exec(line)
    if (from) result.push({ from: from[1] ?? '', name: from[2], lines: [] })
    else result.at(-1)?.lines.push(line)
  }
  return result
}

const last = (file: string, args: BuildArgs = {}): Stage => {
  const stage = stages(file, args).at(-1)
  if (stage === undefined) throw new Error(`${file} has no FROM`)
  return stage
}

const instruction = (stage: Stage, name: string) => stage.lines.filter((line) => line.startsWith(`${name} `))

const BUN_DOCKERFILE = 'packages/Dockerfile'
const BUN_IMAGES = [
  { service: 'stock', dir: 'stock', port: 3002 },
  { service: 'ads', dir: 'ads', port: 3003 },
].map((image) => ({ ...image, args: { SERVICE: image.dir, PORT: String(image.port) } as BuildArgs }))

/** The install stage's RUN line that holds `bun install`. */
const installLine = (args: BuildArgs) =>
  stages(BUN_DOCKERFILE, args)
    .flatMap((stage) => instruction(stage, 'RUN'))
    .find((line) => line.includes('bun install'))

interface PackageJson {
  name: string
  dependencies?: Record<string, string>
  scripts?: Record<string, string>
}

const packageJson = (dir: string): PackageJson =>
  JSON.parse(readFileSync(join(repoRoot, dir, 'package.json'), 'utf8')) as PackageJson

/** The folders under packages/ (the Bun services' Dockerfile sits beside them). */
const workspaceFolders = () =>
  readdirSync(join(repoRoot, 'packages'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)

/** Workspace packages (folder names) a package depends on at run time, transitively. */
function workspaceDeps(dir: string, seen = new Set<string>()): Set<string> {
  const byName = new Map(workspaceFolders().map((d) => [packageJson(`packages/${d}`).name, d]))
  for (const [name, version] of Object.entries(packageJson(`packages/${dir}`).dependencies ?? {})) {
    const folder = byName.get(name)
    if (!version.startsWith('workspace:') || folder === undefined || seen.has(folder)) continue
    seen.add(folder)
    workspaceDeps(folder, seen)
  }
  return seen
}

describe('Dockerfiles', () => {
  test(`${BUN_DOCKERFILE} without the SERVICE build argument stops at the install stage`, () => {
    const line = installLine({}) ?? ''
    const run = Bun.spawnSync(['sh', '-c', line.replace(/^RUN /, '')], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      stderr: 'pipe',
    })
    expect(run.exitCode).not.toBe(0)
    expect(run.stderr.toString()).toContain('set the build argument SERVICE (stock or ads)')
  })

  for (const { service, dir, port, args } of BUN_IMAGES) {
    const file = BUN_DOCKERFILE

    test(`${file} for ${service}: multi-stage, frozen production install, non-root, healthcheck`, () => {
      expect(services[service]?.build?.dockerfile).toBe(file)
      expect(services[service]?.build?.args).toEqual(args)
      const all = stages(file, args)
      expect(all.length).toBeGreaterThanOrEqual(2)
      expect(installLine(args)).toEndWith(
        `&& bun install --frozen-lockfile --production --filter "${packageJson(`packages/${dir}`).name}"`,
      )
      const final = last(file, args)
      // The base image's `bun` user, by number (checked on a real engine by `bun run test:images`).
      expect(instruction(final, 'USER')).toEqual(['USER 1000:1000'])
      expect(instruction(final, 'RUN')).toEqual([])
      // The port the service listens on: PORT, the service's default unless the container is given another.
      expect(instruction(final, 'ENV').join(' ')).toContain(`PORT=${port}`)
      expect(instruction(final, 'HEALTHCHECK').join(' ')).toContain(
        'http://127.0.0.1:$' + '{process.env.PORT}/health/ready',
      )
      expect(instruction(final, 'EXPOSE')).toEqual([`EXPOSE ${port}`])
      expect(instruction(final, 'ENV').join(' ')).toContain(`SERVICE=${dir}`)
      expect(instruction(final, 'CMD')).toEqual([
        `CMD ["sh", "-c", "exec bun \\"packages/${dir}/src/main.ts\\""]`,
      ])
      expect(existsSync(join(repoRoot, `packages/${dir}/src/main.ts`))).toBe(true)
    })

    test(`${file} for ${service}: carries librdkafka where @vehicles/kafka loads it, the estimator's build`, () => {
      const final = last(file, args)
      const path = /LIBRDKAFKA_PATH=(\S+)/.exec(instruction(final, 'ENV').join(' '))?.[1]
      expect(path).toBe('/opt/librdkafka/librdkafka.so.1')
      const copy = instruction(final, 'COPY').find((line) => line.includes('/opt/librdkafka'))
      const stageName = /--from=(\S+)/.exec(copy ?? '')?.[1]
      const stage = stages(file, args).find((candidate) => candidate.name === stageName)
      // The same library the estimator runs: fetched from the wheel its lockfile pins.
      expect(instruction(stage ?? { from: '', lines: [] }, 'RUN')).toEqual([
        `RUN LIBRDKAFKA_PATH=${path} bash scripts/fetch-librdkafka.sh`,
      ])
      expect(instruction(stage ?? { from: '', lines: [] }, 'COPY').join(' ')).toContain('estimator/uv.lock')
    })

    test(`${file} for ${service}: copies the service and exactly the workspace packages it depends on`, () => {
      const copied = instruction(last(file, args), 'COPY')
        .filter((line) => !line.includes('--from='))
        .map((line) => line.split(' ')[1])
      const expected = [dir, ...workspaceDeps(dir)].map((d) => `packages/${d}`)
      expect(copied.sort()).toEqual(expected.sort())
    })

    test(`${file} for ${service}: replayed install; every import of what it runs resolves (production deps)`, () => {
      const root = join(scratch, service)
      mkdirSync(root, { recursive: true })
      for (const name of ['package.json', 'bun.lock', 'bunfig.toml'])
        cpSync(join(repoRoot, name), join(root, name))
      for (const folder of workspaceFolders()) {
        mkdirSync(join(root, 'packages', folder), { recursive: true })
        cpSync(
          join(repoRoot, 'packages', folder, 'package.json'),
          join(root, 'packages', folder, 'package.json'),
        )
      }
      // The install stage's RUN line through a shell, with the build arguments in its environment, as
      // the builder runs it.
      const command = (installLine(args) ?? '').replace(/^RUN /, '')
      const install = Bun.spawnSync(['sh', '-c', command], {
        cwd: root,
        env: { ...process.env, ...args },
        stdout: 'pipe',
        stderr: 'pipe',
      })
      if (install.exitCode !== 0) console.error(install.stderr.toString())
      expect(install.exitCode).toBe(0)

      // The runtime stage's COPY lines, minus what .dockerignore keeps out of the build context.
      for (const folder of [dir, ...workspaceDeps(dir)]) {
        cpSync(join(repoRoot, 'packages', folder), join(root, 'packages', folder), {
          recursive: true,
          filter: (source) => !ignored(relative(repoRoot, source)),
        })
      }

      const commands = [`packages/${dir}/src/main.ts`]
      if (service === 'stock') {
        // The one-shots that run from this image: stock-migrate and `bun run contracts:register`.
        commands.push(`packages/${dir}/src/migrate.ts`)
        const script = packageJson('.').scripts?.['contracts:register'] ?? ''
        const target = /^bun (\S+\.ts)$/.exec(script)?.[1]
        expect({ script, target }).toEqual({ script, target: expect.any(String) })
        commands.push(target ?? '')
      }
      const problems = unresolved(root, commands)
      expect(problems).toEqual([])
    }, 60_000)
  }

  test('estimator/Dockerfile: multi-stage, locked uv sync without dev tools, non-root, healthcheck', () => {
    const file = 'estimator/Dockerfile'
    expect(services['price-estimate-1']?.build?.dockerfile).toBe(file)
    const all = stages(file)
    expect(all.length).toBeGreaterThanOrEqual(2)
    const syncs = all.flatMap((stage) => instruction(stage, 'RUN')).filter((line) => line.includes('uv sync'))
    expect(syncs.length).toBeGreaterThan(0)
    for (const line of syncs) {
      expect(line).toContain('--frozen')
      expect(line).toContain('--no-dev')
    }
    const uvPin = /uv==(\S+)/.exec(all.flatMap((stage) => stage.lines).join('\n'))?.[1]
    expect(uvPin).toBe(
      /UV_VERSION="([^"]+)"/.exec(readFileSync(join(repoRoot, 'estimator/scripts/setup.sh'), 'utf8'))?.[1],
    )
    const final = last(file)
    expect(instruction(final, 'USER')).toEqual(['USER 10001:10001'])
    expect(instruction(final, 'RUN').join(' ')).toContain('--uid 10001 --gid estimator estimator')
    expect(instruction(final, 'HEALTHCHECK').join(' ')).toContain("'/health/ready'")
    expect(instruction(final, 'CMD')).toEqual(['CMD ["python", "-m", "estimator"]'])
    expect(existsSync(join(repoRoot, 'estimator/src/estimator/__main__.py'))).toBe(true)
    // Neither the installer nor pip's caches ship: the final stage installs nothing itself.
    expect(instruction(final, 'RUN').filter((line) => /pip|uv /.test(line))).toEqual([])
    // The source tree is not in the final image: the package is installed into the venv as a wheel.
    expect(instruction(final, 'COPY').filter((line) => line.includes('estimator/'))).toEqual([])
  })

  test('estimator/Dockerfile: replayed uv sync; the entry point runs from the installed wheel alone', async () => {
    const file = 'estimator/Dockerfile'
    const uv = join(repoRoot, 'estimator/.venv/bin/uv')
    if (!existsSync(uv)) throw new Error(`${uv} is missing: run estimator/scripts/setup.sh first`)
    const python = Bun.spawnSync(['python3.11', '-c', 'import sys; print(sys.executable)'])
      .stdout.toString()
      .trim()
    expect(python).toEndWith('python3.11')
    const build = stages(file)[0]
    const root = join(scratch, 'estimator')
    const venv = join(scratch, 'estimator-venv')
    mkdirSync(root, { recursive: true })
    // The build stage's COPY and RUN lines in order, against a scratch folder and the local Python 3.11.
    for (const line of build?.lines ?? []) {
      if (line.startsWith('COPY ')) {
        const [, ...args] = line.split(' ')
        const destination = args.pop() ?? ''
        for (const source of args) {
          // Into a folder (`./`, `dir/`, several sources) by base name; otherwise to the path named.
          const intoFolder = destination.endsWith('/') || args.length > 1
          const target = intoFolder
            ? join(root, destination, source.split('/').at(-1) ?? '')
            : join(root, destination)
          cpSync(join(repoRoot, source), target, {
            recursive: true,
            filter: (path) => !ignored(relative(repoRoot, path)),
          })
        }
      }
      if (!line.startsWith('RUN uv sync')) continue
      const argv = line
        .replace(/^RUN uv /, '')
        .replace('/usr/local/bin/python3.11', python)
        .split(' ')
      const sync = Bun.spawn([uv, ...argv], {
        cwd: root,
        // The caller's environment: the machine's certificate and index settings apply to uv too.
        env: {
          ...process.env,
          UV_PYTHON_DOWNLOADS: 'never',
          UV_LINK_MODE: 'copy',
          UV_PROJECT_ENVIRONMENT: venv,
        },
        stdout: 'pipe',
        stderr: 'pipe',
      })
      const [stderr, code] = await Promise.all([new Response(sync.stderr).text(), sync.exited])
      if (code !== 0) console.error(stderr)
      expect({ line, code }).toEqual({ line, code: 0 })
    }
    // The source tree goes away, as in the final stage; the CMD must still start and reach config checks.
    rmSync(root, { recursive: true, force: true })
    const run = Bun.spawnSync([join(venv, 'bin/python'), '-m', 'estimator'], {
      cwd: scratch,
      env: {
        PATH: `${join(venv, 'bin')}:/usr/bin:/bin`,
        CONTRACTS_DIR: join(repoRoot, 'packages/contracts/schemas'),
      },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const output = `${run.stdout.toString()}${run.stderr.toString()}`
    expect(output).toContain('"event":"config.invalid"')
    expect(output).toContain('KAFKA_BROKERS')
    const devTools = ['pytest', 'ruff', 'mypy'].filter((tool) => existsSync(join(venv, 'bin', tool)))
    expect(devTools).toEqual([])
  }, 180_000)

  test('every COPY source exists in the build context and .dockerignore keeps it in', () => {
    const builds: [string, BuildArgs][] = [
      ...BUN_IMAGES.map(({ args }): [string, BuildArgs] => [BUN_DOCKERFILE, args]),
      ['estimator/Dockerfile', {}],
    ]
    for (const [file, args] of builds) {
      for (const stage of stages(file, args)) {
        for (const line of instruction(stage, 'COPY').filter((l) => !l.includes('--from='))) {
          for (const source of line.split(' ').slice(1, -1)) {
            const exists = existsSync(join(repoRoot, source))
            expect({ file, source, exists, ignored: ignored(source) }).toEqual({
              file,
              source,
              exists: true,
              ignored: false,
            })
          }
        }
      }
    }
  })

  test('.dockerignore keeps installed, local and test files out of the build context', () => {
    const out = [
      'node_modules/x',
      'packages/stock/node_modules/elysia/index.js',
      '.stack/stack.env',
      '.git/HEAD',
      'estimator/.venv/bin/python',
      '.env',
      'packages/ads/src/ads/query.test.ts',
      'packages/ads/src/ads/repository.int.test.ts',
      'packages/ads/src/testing/events.ts',
      'estimator/tests/test_serde.py',
      'estimator/src/estimator/__pycache__/config.cpython-311.pyc',
    ]
    const kept = [
      '.env.example',
      'packages/ads/src/main.ts',
      'packages/contracts/schemas/http/ad.json',
      'bun.lock',
    ]
    expect(out.filter((path) => !ignored(path))).toEqual([])
    expect(kept.filter((path) => ignored(path))).toEqual([])
  })
})

/**
 * Follows imports from the entry files through local files; every bare specifier must resolve from the
 * importing file's folder to a file inside `root` (not to the developer's own node_modules).
 */
function unresolved(root: string, entries: string[]): string[] {
  const transpiler = new Bun.Transpiler({ loader: 'ts' })
  const problems: string[] = []
  const seen = new Set<string>()
  const queue = entries.map((entry) => join(root, entry))
  while (queue.length > 0) {
    const file = queue.pop() as string
    if (seen.has(file)) continue
    seen.add(file)
    if (!existsSync(file)) {
      problems.push(`${relative(root, file)}: missing`)
      continue
    }
    if (!/\.[cm]?tsx?$/.test(file)) continue
    for (const { path } of transpiler.scanImports(readFileSync(file, 'utf8'))) {
      let target: string
      try {
        target = Bun.resolveSync(path, dirname(file))
      } catch (error) {
        problems.push(`${relative(root, file)}: cannot resolve '${path}' (${(error as Error).message})`)
        continue
      }
      if (target.startsWith('node:') || target.startsWith('bun:') || !target.startsWith('/')) continue
      if (!target.startsWith(root))
        problems.push(`${relative(root, file)}: '${path}' resolved outside the image (${target})`)
      else if (!target.includes('/node_modules/')) queue.push(target)
    }
  }
  return problems
}
