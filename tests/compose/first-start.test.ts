/**
 * What `docker compose up -d` needs to work on the first try on a real engine, read from the images'
 * own behaviour rather than from compose's syntax (compose accepts every one of these mistakes):
 * - the registry JVM gets exactly one garbage collector once its launcher adds its defaults;
 * - the three registries never race to create their KafkaSQL topics: topics-init creates them first;
 * - the images built here are built, never pulled from a registry where they do not exist;
 * - the contract registration reads back from the instance it wrote to;
 * - nginx re-resolves the registry names, so a re-created registry is found at its new address;
 * - one-shots do not inherit the service image's healthcheck, and published ports stay on loopback;
 * - the ads list from the database, and every estimator has a transactional id that survives re-creation.
 */
import { describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ComposeService, loadCompose, oneShots, repoRoot } from '../../infra/compose/config'
import { loadConfig } from '../../infra/stack/config'
import { runJavaOptions, selectedCollectors } from './run-java-options'

const model = loadCompose()
const services = model.services

function service(name: string): ComposeService {
  const found = services[name]
  if (found === undefined) throw new Error(`compose.yaml has no service ${name}`)
  return found
}

function env(of: ComposeService): Record<string, string> {
  const values: Record<string, string> = {}
  for (const [key, value] of Object.entries(of.environment ?? {})) values[key] = value ?? ''
  return values
}

const registries = Object.keys(services)
  .filter((name) => /^apicurio\/apicurio-registry:/.test(services[name]?.image ?? ''))
  .sort()

describe('the registry JVM, started the way its image starts it', () => {
  test('three registry containers run the Apicurio image', () => {
    expect(registries).toEqual(['schema-registry-1', 'schema-registry-2', 'schema-registry-3'])
  })

  for (const name of registries) {
    test(`${name}: run-java.sh's options select exactly one garbage collector`, () => {
      const options = runJavaOptions(env(service(name)))
      expect({ name, collectors: selectedCollectors(options) }).toEqual({
        name,
        collectors: [expect.stringMatching(/^-XX:\+Use\w+GC$/)],
      })
    })
  }

  test('a HotSpot JVM accepts the assembled options (java -version with them exits 0)', () => {
    const java = join(loadConfig().registryJavaHome, 'bin', 'java')
    if (!existsSync(java)) throw new Error(`${java} is missing (the registry's JDK; see infra/registry)`)
    const options = runJavaOptions(env(service('schema-registry-1')))
    const run = Bun.spawnSync([java, ...options, '-version'], { stdout: 'pipe', stderr: 'pipe' })
    const said = `${run.stdout.toString()}${run.stderr.toString()}`.split('\n').slice(0, 3).join('\n')
    expect({ options: options.join(' '), code: run.exitCode, said: run.exitCode === 0 ? '' : said }).toEqual({
      options: options.join(' '),
      code: 0,
      said: '',
    })
  })
})

/** Topic definitions topics-init reads: the JSON files mounted into it, with their defaults applied. */
function topicsInitDefinitions(): Map<
  string,
  { partitions: number; rf: number; configs: Record<string, string> }
> {
  const definitions = new Map<string, { partitions: number; rf: number; configs: Record<string, string> }>()
  for (const volume of service('topics-init').volumes ?? []) {
    if (volume.type !== 'bind' || !volume.target.endsWith('.json') || volume.source === undefined) continue
    interface TopicFile {
      defaults: { partitions: number; replicationFactor: number; configs?: Record<string, string> }
      topics: {
        name: string
        partitions?: number
        replicationFactor?: number
        configs?: Record<string, string>
      }[]
    }
    const file = JSON.parse(readFileSync(volume.source, 'utf8')) as TopicFile
    // topics-init must actually read the file, not only have it mounted.
    const command = [...(service('topics-init').entrypoint ?? []), ...(service('topics-init').command ?? [])]
    if (!command.join(' ').includes(volume.target)) continue
    for (const topic of file.topics) {
      definitions.set(topic.name, {
        partitions: topic.partitions ?? file.defaults.partitions,
        rf: topic.replicationFactor ?? file.defaults.replicationFactor,
        configs: { ...file.defaults.configs, ...topic.configs },
      })
    }
  }
  return definitions
}

describe('KafkaSQL topics exist before any registry starts', () => {
  test('every registry waits for topics-init to finish', () => {
    for (const name of registries) {
      expect({ name, waits: service(name).depends_on?.['topics-init']?.condition }).toEqual({
        name,
        waits: 'service_completed_successfully',
      })
    }
  })

  test("topics-init creates each registry's three topics in the shape the registry verifies at start", () => {
    const definitions = topicsInitDefinitions()
    for (const name of registries) {
      const values = env(service(name))
      // Apicurio's own defaults when the variables are unset.
      const topics = [
        values.APICURIO_KAFKASQL_TOPIC || 'kafkasql-journal',
        values.APICURIO_KAFKASQL_SNAPSHOTS_TOPIC || 'kafkasql-snapshots',
        values.APICURIO_EVENTS_KAFKA_TOPIC || 'registry-events',
      ]
      for (const topic of topics) {
        const found = definitions.get(topic)
        expect({ name, topic, found }).toEqual({
          name,
          topic,
          found: {
            partitions: Number(values.APICURIO_KAFKASQL_TOPIC_PARTITIONS || 1),
            rf: 3,
            configs: expect.objectContaining({
              'cleanup.policy': 'delete',
              'retention.ms': '-1',
              'retention.bytes': '-1',
              'min.insync.replicas': '2',
            }),
          },
        })
      }
    }
  })
})

describe('images built here', () => {
  test('every service with a build section is built, never pulled (pull_policy: build)', () => {
    const built = Object.entries(services).filter(([, { build }]) => build !== undefined)
    expect(built.length).toBeGreaterThanOrEqual(5)
    expect(built.map(([name, { pull_policy }]) => ({ name, pull_policy }))).toEqual(
      built.map(([name]) => ({ name, pull_policy: 'build' })),
    )
  })
})

describe('contracts-register', () => {
  test('writes to and reads back from one registry instance, and waits for that instance', () => {
    const url = new URL(env(service('contracts-register')).SCHEMA_REGISTRY_URL ?? '')
    expect(registries).toContain(url.hostname)
    expect(url.port).toBe('8080')
    expect(url.pathname).toBe('/apis/ccompat/v7')
    expect(service('contracts-register').depends_on?.[url.hostname]?.condition).toBe('service_healthy')
  })
})

describe('nginx in front of the registries', () => {
  const conf = readFileSync(join(repoRoot, 'nginx.conf'), 'utf8')

  test("asks Docker's embedded DNS again while running, not only once at start", () => {
    expect(conf).toMatch(/^\s*resolver\s+127\.0\.0\.11\b[^;]*\bvalid=\d+s\b[^;]*;/m)
  })

  test('every upstream server is re-resolved (`resolve`), in a shared-memory zone', () => {
    for (const [, body] of conf.matchAll(/upstream\s+[\w-]+\s*\{([^}]*)\}/g)) {
      expect(body).toMatch(/^\s*zone\s+\w+\s+\d+[kKmM];/m)
      const servers = [...(body ?? '').matchAll(/^\s*server\s+([^;]+);/gm)].map((match) => match[1] ?? '')
      expect(servers.length).toBe(3)
      for (const server of servers) expect(server.split(/\s+/)).toContain('resolve')
    }
  })

  test('the nginx image is 1.27.3 or newer (open-source nginx supports `resolve` in upstreams since then)', () => {
    const tag = /^nginx:(\d+)\.(\d+)\.(\d+)/.exec(service('schema-registry').image ?? '')
    const [major, minor, patch] = (tag?.slice(1) ?? []).map(Number)
    expect(tag).not.toBeNull()
    expect((major ?? 0) * 1_000_000 + (minor ?? 0) * 1_000 + (patch ?? 0)).toBeGreaterThanOrEqual(1_027_003)
  })
})

describe('one-shots and published ports', () => {
  test('no one-shot inherits a healthcheck from its image (it would show as unhealthy or starting)', () => {
    const shots = [...oneShots(model)].sort()
    expect(shots).toEqual(['contracts-register', 'stock-migrate', 'topics-init'])
    for (const name of shots) {
      expect({ name, healthcheck: service(name).healthcheck }).toEqual({
        name,
        healthcheck: { disable: true },
      })
    }
  })

  test('published ports are bound to 127.0.0.1 unless .env says otherwise', () => {
    for (const [name, { ports }] of Object.entries(services)) {
      for (const port of ports ?? []) {
        expect({ name, target: port.target, host_ip: port.host_ip }).toEqual({
          name,
          target: port.target,
          host_ip: '127.0.0.1',
        })
      }
    }
    // .env can open them up: PUBLISH_ADDRESS moves every published port together.
    const dir = mkdtempSync(join(tmpdir(), 'publish-'))
    try {
      writeFileSync(join(dir, '.env'), 'PUBLISH_ADDRESS=0.0.0.0\n')
      const opened = loadCompose({ envFile: join(dir, '.env') }).services
      const addresses = Object.values(opened).flatMap(({ ports }) =>
        (ports ?? []).map((port) => port.host_ip),
      )
      expect(addresses).toEqual(['0.0.0.0', '0.0.0.0', '0.0.0.0'])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('service settings for a real deployment', () => {
  test('the ads serve lists from MongoDB, not from an in-memory index that would outgrow the container', () => {
    expect(env(service('ads')).LIST_SOURCE).toBe('database')
  })

  test('every estimator, the scale profile included, has its own fixed INSTANCE_ID (its transactional id)', () => {
    const scaled = loadCompose({ profiles: ['scale'] }).services
    const estimators = Object.entries(scaled).filter(
      ([, { build }]) => build?.dockerfile === 'estimator/Dockerfile',
    )
    expect(estimators.length).toBeGreaterThan(2)
    const ids = estimators.map(([name, definition]) => ({ name, id: env(definition).INSTANCE_ID }))
    // The service name: fixed across `docker compose up --force-recreate`, unlike a container host name.
    expect(ids).toEqual(estimators.map(([name]) => ({ name, id: name })))
    expect(new Set(ids.map(({ id }) => id)).size).toBe(ids.length)
  })
})
