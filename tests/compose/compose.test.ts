/**
 * Static checks of compose.yaml (issue 7). There is no Docker engine here, so nothing is started:
 * `docker compose config` resolves the file exactly as `docker compose up` would read it, and these
 * tests hold the promises the file makes: the 17 containers, pinned images, health-gated start-up,
 * three published ports, memory limits, named volumes, and the same broker and registry settings as
 * the local stack that the other suites test for real.
 */
import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  type ComposeModel,
  compose,
  loadCompose,
  oneShots,
  parseEnvFile,
  repoRoot,
} from '../../infra/compose/config'

const model: ComposeModel = loadCompose()
const services = model.services

/** The long-running containers of the system, as the original listed them (17). */
const EXPECTED_CONTAINERS = [
  'zookeeper-1',
  'zookeeper-2',
  'zookeeper-3',
  'kafka-1',
  'kafka-2',
  'kafka-3',
  'schema-registry-1',
  'schema-registry-2',
  'schema-registry-3',
  'schema-registry', // nginx in front of the three registries
  'kafka-ui',
  'postgres',
  'mongo',
  'stock',
  'price-estimate-1',
  'price-estimate-2',
  'ads',
]
const EXPECTED_ONE_SHOTS = ['contracts-register', 'stock-migrate', 'topics-init']
const PUBLISHED_PORTS = ['3002', '3003', '8080']
const BROKERS = 'kafka-1:9092,kafka-2:9092,kafka-3:9092'
const REGISTRY_URL = 'http://schema-registry:8081/apis/ccompat/v7'

function service(name: string) {
  const found = services[name]
  if (found === undefined) throw new Error(`compose.yaml has no service ${name}`)
  return found
}

function env(name: string): Record<string, string> {
  const values: Record<string, string> = {}
  for (const [key, value] of Object.entries(service(name).environment ?? {})) values[key] = value ?? ''
  return values
}

const longRunning = () => Object.keys(services).filter((name) => !oneShots(model).has(name))

describe('compose.yaml', () => {
  test('docker compose config -q passes', () => {
    const run = compose(['config', '-q'])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
  })

  test('with the committed .env.example it resolves to exactly the defaults written in compose.yaml', () => {
    const withExample = loadCompose({ envFile: join(repoRoot, '.env.example') })
    expect(withExample).toEqual(model)
  })

  test('every variable compose.yaml reads is documented in .env.example', () => {
    const used = new Set(
      [...readFileSync(join(repoRoot, 'compose.yaml'), 'utf8').matchAll(/\$\{([A-Z0-9_]+)/g)].map(
        (m) => m[1],
      ),
    )
    const documented = Object.keys(parseEnvFile(readFileSync(join(repoRoot, '.env.example'), 'utf8')))
    expect([...used].filter((name) => name !== undefined && !documented.includes(name))).toEqual([])
    expect(documented.filter((name) => !used.has(name))).toEqual([])
  })

  test(`runs the ${EXPECTED_CONTAINERS.length} long-running containers and ${EXPECTED_ONE_SHOTS.length} one-shots`, () => {
    expect(longRunning().sort()).toEqual([...EXPECTED_CONTAINERS].sort())
    expect(longRunning().length).toBeGreaterThanOrEqual(17)
    expect([...oneShots(model)].sort()).toEqual(EXPECTED_ONE_SHOTS)
  })

  test('one-shots never restart and have nothing to be healthy about', () => {
    for (const name of EXPECTED_ONE_SHOTS) {
      expect({ name, restart: service(name).restart }).toEqual({ name, restart: 'no' })
      // Disabled explicitly: an unset healthcheck would inherit the image's HEALTHCHECK.
      expect({ name, healthcheck: service(name).healthcheck }).toEqual({
        name,
        healthcheck: { disable: true },
      })
    }
  })

  test('every image is pinned: a tag, not latest, with a version number', () => {
    const unpinned: string[] = []
    for (const [name, { image }] of Object.entries(services)) {
      const tag =
        image === undefined ? undefined : /^[^@]+:([^:/@]+)(@sha256:[0-9a-f]{64})?$/.exec(image)?.[1]
      if (tag === undefined || tag === 'latest' || !/\d+\.\d+/.test(tag)) unpinned.push(`${name}: ${image}`)
    }
    expect(unpinned).toEqual([])
  })

  test('the base images of the Dockerfiles are pinned too', () => {
    const dockerfiles = new Set(
      Object.values(services).flatMap(({ build }) => (build ? [join(build.context, build.dockerfile)] : [])),
    )
    expect(dockerfiles.size).toBe(2)
    const unpinned: string[] = []
    for (const file of dockerfiles) {
      for (const [, image] of readFileSync(file, 'utf8').matchAll(/^FROM\s+(\S+)/gm)) {
        const tag = image?.split(':')[1]
        if (tag === undefined || tag === 'latest' || !/\d+\.\d+\.\d+/.test(tag))
          unpinned.push(`${file}: ${image}`)
      }
    }
    expect(unpinned).toEqual([])
  })

  test('every long-running container has a healthcheck and restarts unless stopped', () => {
    const missing: string[] = []
    for (const name of longRunning()) {
      const { healthcheck, restart } = service(name)
      if (!healthcheck?.test?.length || healthcheck.disable || healthcheck.test[0] === 'NONE') {
        missing.push(`${name}: no healthcheck`)
      }
      if (restart !== 'unless-stopped') missing.push(`${name}: restart ${restart}`)
    }
    expect(missing).toEqual([])
  })

  test('every dependency waits on health (or on a one-shot finishing), never on mere start', () => {
    const wrong: string[] = []
    for (const [name, { depends_on }] of Object.entries(services)) {
      for (const [target, { condition }] of Object.entries(depends_on ?? {})) {
        const expected = oneShots(model).has(target) ? 'service_completed_successfully' : 'service_healthy'
        if (condition !== expected) wrong.push(`${name} → ${target}: ${condition}, expected ${expected}`)
        if (services[target] === undefined) wrong.push(`${name} → ${target}: no such service`)
      }
    }
    expect(wrong).toEqual([])
  })

  test('the start order has no cycle, and the services come last', () => {
    // Depth of each service in the depends_on graph; a cycle would make `docker compose up` refuse.
    const depth = new Map<string, number>()
    const visiting = new Set<string>()
    const visit = (name: string): number => {
      const known = depth.get(name)
      if (known !== undefined) return known
      if (visiting.has(name)) throw new Error(`depends_on cycle through ${name}`)
      visiting.add(name)
      const below = Object.keys(service(name).depends_on ?? {}).map(visit)
      visiting.delete(name)
      const level = below.length === 0 ? 0 : Math.max(...below) + 1
      depth.set(name, level)
      return level
    }
    for (const name of Object.keys(services)) visit(name)
    const infrastructure = Object.keys(services).filter(
      (name) => !['stock', 'ads', 'price-estimate-1', 'price-estimate-2'].includes(name),
    )
    const deepestInfrastructure = Math.max(
      ...infrastructure.filter((name) => name !== 'kafka-ui').map((name) => depth.get(name) ?? 0),
    )
    for (const name of ['stock', 'ads', 'price-estimate-1', 'price-estimate-2']) {
      // Strictly after every infrastructure container and one-shot (Kafka UI aside: nothing needs it).
      expect({ name, after: (depth.get(name) ?? 0) > deepestInfrastructure }).toEqual({
        name,
        after: true,
      })
    }
    expect(depth.get('zookeeper-1')).toBe(0)
    expect(depth.get('kafka-1')).toBe(1)
  })

  test('the services start only after topics exist and contracts are registered', () => {
    for (const name of ['stock', 'price-estimate-1', 'price-estimate-2', 'ads']) {
      const waits = service(name).depends_on ?? {}
      expect({ name, topics: waits['topics-init']?.condition }).toEqual({
        name,
        topics: 'service_completed_successfully',
      })
      expect({ name, contracts: waits['contracts-register']?.condition }).toEqual({
        name,
        contracts: 'service_completed_successfully',
      })
    }
    expect(service('stock').depends_on?.['stock-migrate']?.condition).toBe('service_completed_successfully')
  })

  test('only 8080, 3002 and 3003 are published to the host', () => {
    const published: string[] = []
    for (const [name, { ports, network_mode }] of Object.entries(services)) {
      expect({ name, network_mode }).toEqual({ name, network_mode: undefined })
      for (const port of ports ?? []) published.push(`${name}:${port.published}->${port.target}`)
    }
    expect(published.sort()).toEqual(['ads:3003->3003', 'kafka-ui:8080->8080', 'stock:3002->3002'])
    expect(published.map((entry) => /:(\d+)->/.exec(entry)?.[1]).sort()).toEqual(PUBLISHED_PORTS)
  })

  test('every container has a memory limit', () => {
    const unlimited = Object.entries(services)
      .filter(([, { deploy }]) => !deploy?.resources?.limits?.memory)
      .map(([name]) => name)
    expect(unlimited).toEqual([])
  })

  test('data lives in named volumes', () => {
    const dataDirs: Record<string, string[]> = {
      'zookeeper-1': ['/var/lib/zookeeper/data', '/var/lib/zookeeper/log'],
      'zookeeper-2': ['/var/lib/zookeeper/data', '/var/lib/zookeeper/log'],
      'zookeeper-3': ['/var/lib/zookeeper/data', '/var/lib/zookeeper/log'],
      'kafka-1': ['/var/lib/kafka/data'],
      'kafka-2': ['/var/lib/kafka/data'],
      'kafka-3': ['/var/lib/kafka/data'],
      postgres: ['/var/lib/postgresql/data'],
      mongo: ['/data/db'],
    }
    const declared = Object.keys(model.volumes ?? {})
    for (const [name, targets] of Object.entries(dataDirs)) {
      for (const target of targets) {
        const mount = service(name).volumes?.find((volume) => volume.target === target)
        expect({ name, target, type: mount?.type }).toEqual({ name, target, type: 'volume' })
        expect(declared).toContain(mount?.source ?? '(none)')
      }
    }
    // Bind mounts are read-only configuration only (nginx.conf, the topic definition and its script).
    for (const [name, { volumes }] of Object.entries(services)) {
      for (const volume of volumes ?? []) {
        if (volume.type === 'bind')
          expect({ name, target: volume.target, ro: volume.read_only }).toEqual({
            name,
            target: volume.target,
            ro: true,
          })
      }
    }
  })

  test('ZooKeeper ×3 form one ensemble', () => {
    for (const id of [1, 2, 3]) {
      const values = env(`zookeeper-${id}`)
      expect(values.ZOOKEEPER_SERVER_ID).toBe(String(id))
      expect(values.ZOOKEEPER_SERVERS).toBe(
        'zookeeper-1:2888:3888;zookeeper-2:2888:3888;zookeeper-3:2888:3888',
      )
      expect(service(`zookeeper-${id}`).image).toMatch(/^confluentinc\/cp-zookeeper:7\.9\.\d+$/)
    }
  })

  test('brokers: Confluent Platform 7.9 on ZooKeeper, the same settings as the local stack', () => {
    // The local stack writes server.properties in infra/stack/kafka.ts; compose must say the same.
    const local = readFileSync(join(repoRoot, 'infra/stack/kafka.ts'), 'utf8')
    const shared = [
      'auto.create.topics.enable',
      'default.replication.factor',
      'min.insync.replicas',
      'num.partitions',
      'offsets.topic.replication.factor',
      'transaction.state.log.replication.factor',
      'transaction.state.log.min.isr',
      'unclean.leader.election.enable',
    ]
    for (const id of [1, 2, 3]) {
      const name = `kafka-${id}`
      const values = env(name)
      expect(service(name).image).toMatch(/^confluentinc\/cp-kafka:7\.9\.\d+$/)
      expect(values.KAFKA_BROKER_ID).toBe(String(id))
      expect(values.KAFKA_ADVERTISED_LISTENERS).toBe(`PLAINTEXT://${name}:9092`)
      expect(values.KAFKA_ZOOKEEPER_CONNECT).toBe('zookeeper-1:2181,zookeeper-2:2181,zookeeper-3:2181')
      for (const key of shared) {
        const localValue = new RegExp(`'${key.replaceAll('.', '\\.')}=([^'$]+)'`).exec(local)?.[1]
        const composeValue = values[`KAFKA_${key.replaceAll('.', '_').toUpperCase()}`]
        expect({ name, key, value: composeValue }).toEqual({
          name,
          key,
          value: localValue ?? '(not in kafka.ts)',
        })
      }
    }
    expect(env('kafka-1').KAFKA_AUTO_CREATE_TOPICS_ENABLE).toBe('false')
    expect(env('kafka-1').KAFKA_MIN_INSYNC_REPLICAS).toBe('2')
    expect(env('kafka-1').KAFKA_DEFAULT_REPLICATION_FACTOR).toBe('3')
  })

  test('topics-init creates the registry topics, then those of infra/topics.json, with the mounted script', () => {
    const init = service('topics-init')
    expect(init.image).toBe(service('kafka-1').image)
    const mounts = Object.fromEntries((init.volumes ?? []).map((volume) => [volume.target, volume.source]))
    expect(mounts['/init/topics.json']).toBe(join(repoRoot, 'infra/topics.json'))
    expect(mounts['/init/registry-topics.json']).toBe(join(repoRoot, 'infra/compose/registry-topics.json'))
    expect(mounts['/init/create-topics.sh']).toBe(join(repoRoot, 'infra/compose/create-topics.sh'))
    expect(init.entrypoint).toEqual([
      'bash',
      '-c',
      'TOPICS_FILE=/init/registry-topics.json bash /init/create-topics.sh && TOPICS_FILE=/init/topics.json bash /init/create-topics.sh',
    ])
    expect(env('topics-init').BOOTSTRAP_SERVERS).toBe(BROKERS)
  })

  test('registries: the Apicurio version and settings the local stack runs (infra/registry/run.sh)', () => {
    const runSh = readFileSync(join(repoRoot, 'infra/registry/run.sh'), 'utf8')
    const pom = readFileSync(join(repoRoot, 'infra/registry/pom.xml'), 'utf8')
    const version = /<apicurio\.version>([^<]+)</.exec(pom)?.[1]
    // Every literal `-Dapicurio.…=value` of run.sh, as the environment variable Quarkus maps it from.
    const settings = [...runSh.matchAll(/^\s*-D(apicurio\.[a-z0-9.-]+)=([A-Za-z0-9]+)\s*$/gm)].map(
      ([, key, value]) => ({
        variable: (key ?? '').replaceAll(/[.-]/g, '_').toUpperCase(),
        value,
      }),
    )
    expect(settings.map((s) => s.variable)).toContain('APICURIO_RULES_GLOBAL_COMPATIBILITY')
    expect(settings.map((s) => s.variable)).toContain('APICURIO_CCOMPAT_USE_CANONICAL_HASH')
    expect(settings.map((s) => s.variable)).toContain('APICURIO_STORAGE_KIND')
    const hostnames = new Set<string>()
    for (const id of [1, 2, 3]) {
      const name = `schema-registry-${id}`
      const values = env(name)
      expect(service(name).image).toBe(`apicurio/apicurio-registry:${version}`)
      for (const { variable, value } of settings) {
        expect({ name, variable, value: values[variable] }).toEqual({ name, variable, value })
      }
      expect(values.APICURIO_KAFKASQL_BOOTSTRAP_SERVERS).toBe(BROKERS)
      expect(values.REGISTRY_ID).toBe(name)
      hostnames.add(service(name).hostname ?? '')
    }
    expect([...hostnames].sort()).toEqual(['schema-registry-1', 'schema-registry-2', 'schema-registry-3'])
  })

  test('nginx serves the root nginx.conf in front of the registries', () => {
    const nginx = service('schema-registry')
    expect(nginx.image).toMatch(/^nginx:\d+\.\d+\.\d+(-alpine)?$/)
    const conf = nginx.volumes?.find((volume) => volume.target === '/etc/nginx/nginx.conf')
    expect(conf?.source).toBe(join(repoRoot, 'nginx.conf'))
    expect(conf?.read_only).toBe(true)
  })

  test('Kafka UI: login form admin/password, the cluster and the registry (through nginx) configured', () => {
    const values = env('kafka-ui')
    expect(service('kafka-ui').image).toMatch(/^kafbat\/kafka-ui:v\d+\.\d+\.\d+$/)
    expect(values.AUTH_TYPE).toBe('LOGIN_FORM')
    expect(values.SPRING_SECURITY_USER_NAME).toBe('admin')
    expect(values.SPRING_SECURITY_USER_PASSWORD).toBe('password')
    expect(values.KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS).toBe(BROKERS)
    expect(values.KAFKA_CLUSTERS_0_SCHEMAREGISTRY).toBe(REGISTRY_URL)
    expect(values.GITHUB_RELEASE_INFO_ENABLED).toBe('false')
  })

  test('two estimator instances with distinct INSTANCE_ID, and two more behind the scale profile', () => {
    const ids = ['price-estimate-1', 'price-estimate-2'].map((name) => env(name).INSTANCE_ID)
    expect(ids).toEqual(['price-estimate-1', 'price-estimate-2'])
    expect(services['price-estimate-3']).toBeUndefined()
    const scaled = loadCompose({ profiles: ['scale'] }).services
    for (const name of ['price-estimate-3', 'price-estimate-4']) {
      expect(scaled[name]?.image).toBe(service('price-estimate-1').image)
      // A fixed id: a re-created container keeps its transactional id and fences its predecessor.
      expect(scaled[name]?.environment?.INSTANCE_ID).toBe(name)
    }
  })

  test('the one-shots run what they promise', () => {
    expect(service('contracts-register').command).toEqual(['bun', 'run', 'contracts:register'])
    expect(service('contracts-register').image).toBe(service('stock').image)
    // One instance, not nginx: it reads back what it has just written (see first-start.test.ts).
    expect(env('contracts-register').SCHEMA_REGISTRY_URL).toBe(
      'http://schema-registry-1:8080/apis/ccompat/v7',
    )
    const rootPackage = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      scripts?: Record<string, string>
    }
    expect(rootPackage.scripts?.['contracts:register']).toBeString()
    expect(service('stock-migrate').image).toBe(service('stock').image)
    expect(env('stock-migrate').DATABASE_URL).toBe(env('stock').DATABASE_URL)
  })
})
