/**
 * compose configures Apicurio through environment variables, where the local stack passes `-D` system
 * properties (infra/registry/run.sh). This test starts the same registry build with exactly the
 * environment compose gives `schema-registry-1` and checks that every setting takes effect: KafkaSQL
 * storage on a one-partition RF-3 journal, BACKWARD by configuration, canonical hashing on the
 * Confluent API, the consumer-group prefix, and readiness where compose's healthcheck asks for it.
 *
 * The JVM gets the options the image's launcher assembles from that environment (run-java-options.ts),
 * and the three KafkaSQL topics are created first by compose's topics-init script from the same
 * definition (infra/compose/registry-topics.json), as in compose: the registry must accept them.
 *
 * Only what cannot hold outside the container is changed: loopback addresses and free ports instead of
 * 8080/9000, the local brokers, and unique journal topics and group prefix so nothing is shared with the
 * stack's own registries. Everything this run creates in Kafka is deleted after.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadCompose, repoRoot } from '../../infra/compose/config'
import { loadConfig } from '../../infra/stack/config'
import { installKafkaTools } from '../../infra/stack/kafka-tools'
import { stackEnv } from '../../packages/testing/src/stack-env'
import { waitFor } from '../../packages/testing/src/wait-for'
import { healthcheckArgv, retarget, runCommand } from './healthcheck-commands'
import { runJavaOptions } from './run-java-options'

const brokers = stackEnv().KAFKA_BROKERS
const scratch = mkdtempSync(join(tmpdir(), 'compose-registry-'))
const runId = crypto.randomUUID().slice(0, 8)
const topic = `compose-registry-${runId}`
const groupPrefix = `${topic}-`
const subject = `${topic}-value`
const logFile = join(scratch, 'registry.log')
let httpPort = 0
let managementPort = 0
let registry: ReturnType<typeof Bun.spawn> | undefined
let toolsPath = ''

function freePort(): number {
  const listener = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const port = listener.port
  listener.stop(true)
  return port
}

const logTail = () => {
  try {
    return readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n')
  } catch {
    return '(no log)'
  }
}

beforeAll(async () => {
  toolsPath = installKafkaTools(scratch)
  const build = await runCommand(['bash', join(repoRoot, 'infra/registry/build.sh')], {}, 600_000)
  const jar = build.stdout.trim().split('\n').at(-1) ?? ''
  if (build.code !== 0 || !jar.endsWith('quarkus-run.jar'))
    throw new Error(`infra/registry/build.sh failed:\n${build.stderr}`)

  const composeEnv = loadCompose().services['schema-registry-1']?.environment ?? {}
  const env: Record<string, string> = {}
  for (const [key, value] of Object.entries(composeEnv)) if (value !== null) env[key] = value
  // The options the image's launcher assembles, less the in-container listen address (loopback here).
  const jvmOptions = runJavaOptions(env).filter((option) => !option.startsWith('-Dquarkus.http.host='))
  delete env.JAVA_OPTS_APPEND

  // topics-init's step for the registry: the compose definition, under this run's topic names.
  const names: Record<string, string> = {
    'kafkasql-journal': topic,
    'kafkasql-snapshots': `${topic}-snapshots`,
    'registry-events': `${topic}-events`,
  }
  let definition = readFileSync(join(repoRoot, 'infra/compose/registry-topics.json'), 'utf8')
  for (const [from, to] of Object.entries(names)) definition = definition.replace(`"${from}"`, `"${to}"`)
  writeFileSync(join(scratch, 'registry-topics.json'), definition)
  const created = await runCommand(
    ['bash', join(repoRoot, 'infra/compose/create-topics.sh')],
    { PATH: toolsPath, TOPICS_FILE: join(scratch, 'registry-topics.json'), BOOTSTRAP_SERVERS: brokers },
    120_000,
  )
  if (created.code !== 0 || !created.stdout.includes('3 topics match'))
    throw new Error(`create-topics.sh failed:\n${created.stdout}${created.stderr}`)
  httpPort = freePort()
  managementPort = freePort()
  Object.assign(env, {
    QUARKUS_HTTP_HOST: '127.0.0.1',
    QUARKUS_HTTP_PORT: String(httpPort),
    QUARKUS_MANAGEMENT_HOST: '127.0.0.1',
    QUARKUS_MANAGEMENT_PORT: String(managementPort),
    APICURIO_KAFKASQL_BOOTSTRAP_SERVERS: brokers,
    APICURIO_KAFKASQL_TOPIC: topic,
    APICURIO_KAFKASQL_SNAPSHOTS_TOPIC: `${topic}-snapshots`,
    APICURIO_EVENTS_KAFKA_TOPIC: `${topic}-events`,
    APICURIO_KAFKASQL_CONSUMER_GROUP_PREFIX: groupPrefix,
    PATH: process.env.PATH ?? '/usr/bin:/bin',
  })
  const java = join(loadConfig().registryJavaHome, 'bin', 'java')
  registry = Bun.spawn([java, ...jvmOptions, `-Djava.io.tmpdir=${scratch}`, '-jar', jar], {
    env,
    stdout: Bun.file(logFile),
    stderr: 'inherit',
  })
  // Ready as compose sees it: its own healthcheck command, aimed at the management port.
  const check = retarget(
    healthcheckArgv('schema-registry-1'),
    '127.0.0.1/9000',
    `127.0.0.1/${managementPort}`,
  )
  try {
    await waitFor(
      'the registry, started with the compose environment, to pass the compose healthcheck',
      async () => ((await runCommand(check)).code === 0 ? true : undefined),
      { timeoutMs: 150_000, intervalMs: 1_000 },
    )
  } catch (error) {
    throw new Error(`${(error as Error).message}\nregistry log:\n${logTail()}`)
  }
}, 300_000)

afterAll(async () => {
  if (registry) {
    registry.kill('SIGTERM')
    await Promise.race([registry.exited, Bun.sleep(15_000)])
    if (registry.exitCode === null) registry.kill('SIGKILL')
  }
  // A stopped member stays in its group until its session expires; retry until the groups are gone.
  const deadline = Date.now() + 90_000
  for (;;) {
    const groups = await runCommand(['kafka-consumer-groups', '--bootstrap-server', brokers, '--list'], {
      PATH: toolsPath,
    })
    const own = groups.stdout.split('\n').filter((group) => group.startsWith(groupPrefix))
    if (own.length === 0 || Date.now() > deadline) {
      if (own.length > 0) console.error(`left behind consumer groups: ${own.join(', ')}`)
      break
    }
    await runCommand(
      [
        'kafka-consumer-groups',
        '--bootstrap-server',
        brokers,
        '--delete',
        ...own.flatMap((g) => ['--group', g]),
      ],
      { PATH: toolsPath },
    )
    await Bun.sleep(2_000)
  }
  await runCommand(['kafka-topics', '--bootstrap-server', brokers, '--delete', '--topic', `${topic}.*`], {
    PATH: toolsPath,
  })
  rmSync(scratch, { recursive: true, force: true })
}, 240_000)

const api = (path: string, init?: RequestInit) =>
  fetch(`http://127.0.0.1:${httpPort}/apis/ccompat/v7${path}`, {
    ...init,
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
  })

describe('Apicurio with the environment compose gives it', () => {
  test('global compatibility is BACKWARD from the first start', async () => {
    const response = await api('/config')
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ compatibilityLevel: 'BACKWARD' })
  }, 30_000)

  test('the Confluent API hashes canonically: other whitespace and key order find the same version', async () => {
    const schema = { type: 'object', properties: { id: { type: 'string' } }, additionalProperties: false }
    const registered = await api(`/subjects/${subject}/versions`, {
      method: 'POST',
      body: JSON.stringify({ schemaType: 'JSON', schema: JSON.stringify(schema) }),
    })
    expect(registered.status).toBe(200)
    const { id } = (await registered.json()) as { id: number }
    const reformatted = `{\n  "additionalProperties": false,\n  "properties": { "id": { "type": "string" } },\n  "type": "object"\n}`
    const lookup = await api(`/subjects/${subject}`, {
      method: 'POST',
      body: JSON.stringify({ schemaType: 'JSON', schema: reformatted }),
    })
    expect(lookup.status).toBe(200)
    expect(((await lookup.json()) as { id: number }).id).toBe(id)
  }, 30_000)

  test('the registry started on the topics topics-init created and kept them as they were', async () => {
    const described = await runCommand(
      ['kafka-topics', '--bootstrap-server', brokers, '--describe', '--topic', `${topic}.*`],
      { PATH: toolsPath },
    )
    for (const name of [topic, `${topic}-snapshots`, `${topic}-events`]) {
      expect(described.stdout).toMatch(
        new RegExp(
          `Topic: ${name}\\s.*PartitionCount: 1\\s+ReplicationFactor: 3\\s+Configs:.*retention\\.ms=-1`,
        ),
      )
    }
    // Started with the image's collector choice: exactly the one compose asks for.
    expect(readFileSync(logFile, 'utf8')).not.toContain('garbage collectors')
  }, 60_000)

  test('the journal is one partition on three replicas, read by consumer groups with the given prefix', async () => {
    const described = await runCommand(
      ['kafka-topics', '--bootstrap-server', brokers, '--describe', '--topic', topic],
      { PATH: toolsPath },
    )
    expect(described.stdout).toMatch(
      new RegExp(`Topic: ${topic}\\s.*PartitionCount: 1\\s+ReplicationFactor: 3`),
    )
    const groups = await runCommand(['kafka-consumer-groups', '--bootstrap-server', brokers, '--list'], {
      PATH: toolsPath,
    })
    expect(groups.stdout.split('\n').filter((group) => group.startsWith(groupPrefix)).length).toBeGreaterThan(
      0,
    )
  }, 60_000)

  test('logs are JSON lines with the system keys, tagged with the instance, Kafka client chatter at WARN', () => {
    const lines = readFileSync(logFile, 'utf8').split('\n').filter(Boolean)
    expect(lines.length).toBeGreaterThan(0)
    const bad: string[] = []
    for (const line of lines) {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>
        for (const key of ['time', 'level', 'message']) if (!(key in entry)) bad.push(`no ${key}: ${line}`)
        if (entry.service !== 'schema-registry-1') bad.push(`service ${String(entry.service)}: ${line}`)
        if ('sequence' in entry || 'hostName' in entry) bad.push(`excluded key present: ${line}`)
        const logger = String(entry.event ?? entry.loggerName ?? '')
        if (logger.startsWith('org.apache.kafka') && entry.level === 'INFO') bad.push(`Kafka INFO: ${line}`)
      } catch {
        bad.push(`not JSON: ${line}`)
      }
    }
    expect(bad.slice(0, 5)).toEqual([])
  })
})
