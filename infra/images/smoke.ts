/**
 * `bun run test:images`: the three service images built from their real Dockerfiles on a real Docker
 * engine (infra/images/engine.sh) over stand-in base images (infra/images/bases.sh), then run with the
 * environment compose.yaml gives them against the local stack, containers on the host network:
 * - the one-shots stock-migrate and contracts-register exit 0; the stock image without DATABASE_URL
 *   refuses to start (production mode) instead of falling back to PGlite;
 * - stock, ads and both estimators become healthy by their images' own HEALTHCHECK;
 * - every container runs as its image's non-root user;
 * - a vehicle POSTed to the stock container becomes an ad served by the ads container.
 * Only what cannot hold outside compose's network changes: addresses (the stack's), ports (other than
 * the stack's services on 3002/3003), a database and consumer groups of this run's own, a short
 * estimator delay. Idempotent; prints timings and image sizes. Needs root (dockerd) and the stack up.
 */
import { join, resolve } from 'node:path'
import { stackEnv } from '../../packages/testing/src/stack-env'
import { waitFor } from '../../packages/testing/src/wait-for'
import { loadCompose } from '../compose/config'
import {
  docker,
  envArgs,
  imageSizeMb,
  inspect,
  must,
  removeContainers,
  sh,
  useEngine,
  waitExit,
  waitHealthy,
} from './docker'
import { prepareStores } from './stores'

const root = resolve(import.meta.dir, '../..')
const started = performance.now()
const timings: [string, number][] = []
const timed = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
  const t0 = performance.now()
  const result = await work()
  const seconds = (performance.now() - t0) / 1000
  timings.push([what, seconds])
  console.log(`images: ${what}: ${seconds.toFixed(1)} s`)
  return result
}

const stack = stackEnv()
const compose = loadCompose().services
const PREFIX = 'vehicles-images'
const PORTS = { stock: 3902, ads: 3903, estimator1: 9911, estimator2: 9912 }
const DATABASE = 'vehicles_images'
const GROUP = `${PREFIX}-smoke`

/** compose's environment of a service, with the compose network's addresses replaced by the stack's. */
function composeEnv(service: string, overrides: Record<string, string>): Record<string, string> {
  const databaseUrl = new URL(stack.DATABASE_URL)
  databaseUrl.pathname = `/${DATABASE}`
  const addresses: [string, string][] = [
    ['kafka-1:9092,kafka-2:9092,kafka-3:9092', stack.KAFKA_BROKERS],
    ['http://schema-registry:8081/apis/ccompat/v7', stack.SCHEMA_REGISTRY_URL],
    ['http://schema-registry-1:8080/apis/ccompat/v7', stack.SCHEMA_REGISTRY_INSTANCE_1 ?? ''],
  ]
  const env: Record<string, string> = {}
  for (const [key, raw] of Object.entries(compose[service]?.environment ?? {})) {
    let value = raw ?? ''
    for (const [from, to] of addresses) if (value === from) value = to
    if (key === 'DATABASE_URL') value = databaseUrl.toString()
    if (key === 'MONGODB_URL') value = stack.MONGODB_URL
    if (key === 'MONGODB_DATABASE') value = DATABASE
    env[key] = value
  }
  Object.assign(env, overrides)
  const leftover = Object.entries(env).filter(([, value]) =>
    // A compose host name followed by a port: kafka-1:9092, @postgres:5432, //schema-registry-1:8080.
    /(^|,|\/\/|@)(kafka-\d|schema-registry(-\d)?|postgres|mongo):\d/.test(value),
  )
  if (leftover.length > 0)
    throw new Error(`${service}: untranslated compose addresses ${JSON.stringify(leftover)}`)
  return env
}

/** The image tag compose uses for a service (vehicles/<name>:<VEHICLES_VERSION>). */
const imageOf = (service: string) => compose[service]?.image ?? ''

/** The images compose builds; the second estimator runs the first one's image. */
const BUILT = ['stock', 'ads', 'price-estimate-1']
const SERVICES = ['stock', 'ads', 'price-estimate-1', 'price-estimate-2']
const CONTAINERS = [
  'stock-migrate',
  'contracts-register',
  'stock-no-db',
  'stock',
  'ads',
  'price-estimate-1',
  'price-estimate-2',
].map((name) => `${PREFIX}-${name}`)

const runContainer = (name: string, image: string, env: Record<string, string>, command: string[] = []) =>
  docker('run', '-d', '--name', `${PREFIX}-${name}`, '--network', 'host', ...envArgs(env), image, ...command)

async function startEngine() {
  if (process.getuid?.() !== 0) throw new Error('run as root: the Docker engine needs it')
  const engine = await timed('engine (install if missing, start if stopped)', () =>
    must(['bash', join(root, 'infra/images/engine.sh')]),
  )
  const host = /DOCKER_HOST=(\S+)/.exec(engine)?.[1]
  if (!host) throw new Error(`engine.sh printed no DOCKER_HOST:\n${engine}`)
  useEngine(host)
  await timed('stand-in base images', () =>
    must(['bash', join(root, 'infra/images/bases.sh')], { DOCKER_HOST: host }),
  )
}

/**
 * The three images, from the Dockerfiles as they are. The classic builder: BuildKit would first fetch
 * the `docker/dockerfile:1` frontend named in their syntax line from Docker Hub, unreachable here.
 * Each with the Dockerfile and build arguments compose gives it.
 */
async function buildImages() {
  for (const service of BUILT) {
    const tag = imageOf(service)
    const build = compose[service]?.build
    if (build === undefined) throw new Error(`compose.yaml builds no image for ${service}`)
    const args = Object.entries(build.args ?? {}).flatMap(([name, value]) => [
      '--build-arg',
      `${name}=${value}`,
    ])
    await timed(`build ${tag}`, () =>
      must(['docker', 'build', '-q', '--network', 'host', '-f', build.dockerfile, ...args, '-t', tag, root], {
        DOCKER_BUILDKIT: '0',
      }),
    )
  }
}

/** One-shots, with compose's command and environment. */
async function runOneShots() {
  for (const name of ['stock-migrate', 'contracts-register']) {
    await runContainer(name, imageOf(name), composeEnv(name, {}), compose[name]?.command ?? [])
    const { code, logs, seconds } = await waitExit(`${PREFIX}-${name}`, 120_000)
    timings.push([`${name} (one-shot)`, seconds])
    if (code !== 0) throw new Error(`${name} exited ${code}:\n${logs}`)
    console.log(`images: ${name} exited 0 in ${seconds.toFixed(1)} s`)
  }
}

/** Production mode without DATABASE_URL: a refusal naming the variable, not PGlite under /app. */
async function checkStockRefusesWithoutDatabase() {
  const { DATABASE_URL: _dropped, ...withoutDatabase } = composeEnv('stock', { PORT: String(PORTS.stock) })
  await runContainer('stock-no-db', imageOf('stock'), withoutDatabase)
  const refused = await waitExit(`${PREFIX}-stock-no-db`, 60_000)
  if (refused.code !== 1 || !refused.logs.includes('DATABASE_URL: is required when NODE_ENV=production'))
    throw new Error(
      `stock without DATABASE_URL: exit ${refused.code}, expected 1 with the refusal:\n${refused.logs}`,
    )
  console.log('images: stock without DATABASE_URL refused to start (exit 1, names DATABASE_URL)')
}

/** The long-running services; each one's time to healthy counts from its own `docker run`. */
async function startServicesUntilHealthy() {
  const launched = new Map<string, number>()
  const launch = async (name: string, env: Record<string, string>) => {
    launched.set(name, performance.now())
    await runContainer(name, imageOf(name), env)
  }
  await launch('stock', composeEnv('stock', { PORT: String(PORTS.stock) }))
  await launch('ads', composeEnv('ads', { PORT: String(PORTS.ads), GROUP_ID: `${GROUP}-ads` }))
  for (const [index, port] of [PORTS.estimator1, PORTS.estimator2].entries()) {
    const name = `price-estimate-${index + 1}`
    await launch(
      name,
      composeEnv(name, { METRICS_PORT: String(port), GROUP_ID: GROUP, ESTIMATE_DELAY_SECONDS: '1' }),
    )
  }
  const healthy = await Promise.all(
    SERVICES.map(async (name) => {
      await waitHealthy(`${PREFIX}-${name}`, 180_000)
      return (performance.now() - (launched.get(name) ?? 0)) / 1000
    }),
  )
  for (const [index, name] of SERVICES.entries())
    timings.push([`${name}: docker run → healthy by its own HEALTHCHECK`, healthy[index] ?? 0])
  console.log(
    `images: all four healthy by their own HEALTHCHECK (${healthy.map((s) => s.toFixed(0)).join(', ')} s after docker run)`,
  )
}

/** Non-root, as the image says. */
async function checkNonRoot() {
  const users: string[] = []
  for (const name of SERVICES) {
    const container = `${PREFIX}-${name}`
    const id = (await docker('exec', container, 'id')).trim()
    const configured = ((await inspect(container)).Config as { User?: string } | undefined)?.User ?? ''
    const uid = /uid=(\d+)\(([^)]*)\)/.exec(id)
    if (!uid || uid[1] === '0' || !configured.startsWith(`${uid[1]}:`))
      throw new Error(`${container} runs as "${id}" (image USER ${configured})`)
    users.push(`${name}: ${uid[1]}(${uid[2]})`)
  }
  console.log(`images: users ${users.join(', ')}`)
}

/** A vehicle through the containers: POST to stock → relay → estimators → ads. */
async function vehicleBecomesAd() {
  const vin = `1HGCM8263${String(Date.now()).slice(-8)}`.slice(0, 17).replace(/[IOQ]/g, '1')
  const posted = await timed('POST /stock → ad served by the ads container', async () => {
    const response = await fetch(`http://127.0.0.1:${PORTS.stock}/stock`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        vin,
        manufacturer: 'Honda',
        model: 'Accord',
        year: 2022,
        odometer: 1000,
        odometerUnit: 'km',
      }),
    })
    const body = (await response.json()) as { id?: string }
    if (response.status !== 201 || !body.id)
      throw new Error(`POST /stock → ${response.status} ${JSON.stringify(body)}`)
    const id = body.id
    return waitFor(
      `the ad of vehicle ${id} on the ads container`,
      async () => {
        const ad = await fetch(`http://127.0.0.1:${PORTS.ads}/ads/${id}`)
        return ad.status === 200 ? ((await ad.json()) as Record<string, unknown>) : undefined
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    )
  })
  console.log(`images: ad served: ${JSON.stringify(posted).slice(0, 300)}`)
}

/** Sizes are measured before the containers go; the report ends with the load it was measured under. */
async function reportAndClean() {
  const sizes: string[] = []
  for (const tag of BUILT.map(imageOf)) sizes.push(`${tag} ${await imageSizeMb(tag)} MB`)
  for (const base of ['oven/bun:1.4.5', 'python:3.11.14-slim-bookworm'])
    sizes.push(`${base} (stand-in) ${await imageSizeMb(base)} MB`)
  await removeContainers(CONTAINERS)

  const load = (await sh(['cat', '/proc/loadavg'])).stdout.split(' ').slice(0, 3).join(' ')
  console.log('\nimages: timings')
  for (const [what, seconds] of timings) console.log(`  ${seconds.toFixed(1).padStart(7)} s  ${what}`)
  console.log(`images: sizes\n  ${sizes.join('\n  ')}`)
  console.log(`images: PASS in ${((performance.now() - started) / 1000).toFixed(0)} s (load average ${load})`)
}

async function main() {
  await startEngine()
  await buildImages()
  await removeContainers(CONTAINERS)
  await timed('fresh database, consumer groups at the end of their topics', () =>
    prepareStores({ stack, database: DATABASE, group: GROUP }),
  )
  await runOneShots()
  await checkStockRefusesWithoutDatabase()
  await startServicesUntilHealthy()
  await checkNonRoot()
  await vehicleBecomesAd()
  await reportAndClean()
}

main().catch(async (error: unknown) => {
  console.error(`images: FAIL: ${error instanceof Error ? error.message : String(error)}`)
  console.error('images: containers are left for inspection (docker ps -a); the next run removes them')
  process.exit(1)
})
