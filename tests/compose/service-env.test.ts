/**
 * The environment compose.yaml gives each service must satisfy that service's own config schema, read
 * by the service's own loader: the TypeBox schemas of vehicles-stock and vehicles-ads, and the
 * estimator's pydantic settings (run with the estimator's locked environment). A variable compose
 * sets that the schema does not know is reported too: it would be a typo that silently does nothing.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { loadCompose, repoRoot } from '../../infra/compose/config'
import { AdsConfigSchema } from '../../packages/ads/src/config'
import { parseConfig } from '../../packages/platform/src/config'
import { parseStockConfig, StockConfigSchema } from '../../packages/stock/src/config'

const services = loadCompose().services

function env(name: string): Record<string, string> {
  const service = services[name]
  if (service === undefined) throw new Error(`compose.yaml has no service ${name}`)
  const values: Record<string, string> = {}
  for (const [key, value] of Object.entries(service.environment ?? {})) values[key] = value ?? ''
  return values
}

/** What each service needs from compose in any case (optional in a schema means "another mode"). */
const MUST_SET: Record<string, string[]> = {
  stock: ['PORT', 'HOST', 'DATABASE_URL', 'KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'LOG_LEVEL'],
  ads: [
    'PORT',
    'HOST',
    'MONGODB_URL',
    'MONGODB_DATABASE',
    'KAFKA_BROKERS',
    'SCHEMA_REGISTRY_URL',
    'LOG_LEVEL',
  ],
  estimator: [
    'KAFKA_BROKERS',
    'SCHEMA_REGISTRY_URL',
    'INSTANCE_ID',
    'ESTIMATE_DELAY_SECONDS',
    'METRICS_PORT',
    'CONTRACTS_DIR',
    'LOG_LEVEL',
  ],
}

const scratch = mkdtempSync(join(tmpdir(), 'service-env-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }), 60_000)

/**
 * A folder with what estimator/Dockerfile's final stage copies into `target` (its CONTRACTS_DIR):
 * `COPY <dir> <target>` copies the folder's content, `COPY <file>... <target>/` the files.
 */
function imageContractsDir(target: string): string {
  const text = readFileSync(join(repoRoot, 'estimator/Dockerfile'), 'utf8').replaceAll(/\\\n/g, ' ')
  const finalStage = text.split(/^FROM /m).at(-1) ?? ''
  const folder = join(scratch, 'contracts')
  mkdirSync(folder, { recursive: true })
  let copies = 0
  for (const [, args] of finalStage.matchAll(/^COPY (?!--from)(.+)$/gm)) {
    const parts = (args ?? '').trim().split(/\s+/)
    const destination = (parts.pop() ?? '').replace(/\/$/, '')
    if (destination !== target.replace(/\/$/, '')) continue
    for (const source of parts) {
      const path = join(repoRoot, source)
      const into = statSync(path).isDirectory() ? folder : join(folder, basename(source))
      cpSync(path, into, { recursive: true })
      copies += 1
    }
  }
  if (copies === 0) throw new Error(`estimator/Dockerfile copies nothing into CONTRACTS_DIR=${target}`)
  return folder
}

describe('service environments in compose.yaml', () => {
  test('vehicles-stock: its schema accepts the environment; Postgres, Kafka and the registry are on', () => {
    const values = env('stock')
    expect(Object.keys(values).filter((key) => !(key in StockConfigSchema.properties))).toEqual([])
    expect(MUST_SET.stock?.filter((key) => !values[key])).toEqual([])
    const config = parseStockConfig(values)
    expect(config.PORT).toBe(3002)
    expect(config.HOST).toBe('0.0.0.0')
    expect(config.DATABASE_URL).toStartWith('postgres://')
    expect(config.KAFKA_BROKERS).toBe('kafka-1:9092,kafka-2:9092,kafka-3:9092')
    expect(config.SCHEMA_REGISTRY_URL).toBe('http://schema-registry:8081/apis/ccompat/v7')
    expect(config.RELAY_ENABLED).toBe(true)
    // The published port maps onto the port the service listens on.
    expect(services.stock?.ports?.map((port) => port.target)).toEqual([config.PORT])
  })

  test('stock-migrate: the same schema accepts its environment and it migrates PostgreSQL, not PGlite', () => {
    const values = env('stock-migrate')
    expect(Object.keys(values).filter((key) => !(key in StockConfigSchema.properties))).toEqual([])
    expect(parseStockConfig(values).DATABASE_URL).toBe(env('stock').DATABASE_URL)
  })

  test('vehicles-ads: its schema accepts the environment', () => {
    const values = env('ads')
    expect(Object.keys(values).filter((key) => !(key in AdsConfigSchema.properties))).toEqual([])
    expect(MUST_SET.ads?.filter((key) => !values[key])).toEqual([])
    const config = parseConfig(AdsConfigSchema, values)
    expect(config.PORT).toBe(3003)
    expect(config.HOST).toBe('0.0.0.0')
    expect(config.MONGODB_URL).toStartWith('mongodb://')
    expect(config.MONGODB_URL).toContain('@mongo:27017/')
    expect(config.SCHEMA_REGISTRY_URL).toBe('http://schema-registry:8081/apis/ccompat/v7')
    expect(services.ads?.ports?.map((port) => port.target)).toEqual([config.PORT])
  })

  for (const name of ['price-estimate-1', 'price-estimate-2']) {
    test(`${name}: the estimator's settings accept the environment`, () => {
      const values = env(name)
      expect(MUST_SET.estimator?.filter((key) => !values[key])).toEqual([])
      // CONTRACTS_DIR as the image fills it: what the Dockerfile's COPY lines put there, nothing else.
      const contracts = imageContractsDir(values.CONTRACTS_DIR ?? '')
      const python = join(repoRoot, 'estimator/.venv/bin/python')
      if (!existsSync(python)) throw new Error(`${python} is missing: run estimator/scripts/setup.sh first`)
      const script = [
        'import json',
        'from estimator.config import load_settings',
        'from estimator.serde import CREATED_SCHEMA_FILE, PROCESSED_SCHEMA_FILE, Contract',
        's = load_settings()',
        '# The start-up reads both event contracts from CONTRACTS_DIR (estimator/__main__.py).',
        'Contract.load(s.contracts_dir / CREATED_SCHEMA_FILE)',
        'Contract.load(s.contracts_dir / PROCESSED_SCHEMA_FILE)',
        'print(json.dumps({"instance_id": s.instance_id, "transactional_id": s.transactional_id,',
        '  "delay": s.estimate_delay_seconds, "metrics_port": s.metrics_port, "metrics_host": s.metrics_host,',
        '  "brokers": s.kafka_brokers, "registry": s.schema_registry_url, "log_level": s.log_level}))',
      ].join('\n')
      const child = Bun.spawnSync([python, '-c', script], {
        env: {
          ...values,
          CONTRACTS_DIR: contracts,
          PATH: process.env.PATH ?? '/usr/bin:/bin',
        },
        stdout: 'pipe',
        stderr: 'pipe',
      })
      if (child.exitCode !== 0) console.error(child.stderr.toString())
      expect(child.exitCode).toBe(0)
      const settings = JSON.parse(child.stdout.toString()) as Record<string, unknown>
      expect(settings).toEqual({
        instance_id: name,
        transactional_id: `price-estimate-${name}`,
        delay: 30,
        metrics_port: 9101,
        metrics_host: '0.0.0.0',
        brokers: 'kafka-1:9092,kafka-2:9092,kafka-3:9092',
        registry: 'http://schema-registry:8081/apis/ccompat/v7',
        log_level: 'info',
      })
      // The healthcheck asks the port the estimator serves health on.
      expect(services[name]?.healthcheck?.test?.join(' ')).toContain(`:${settings.metrics_port}/health/ready`)
      // A Python start-up that imports the schema libraries: over Bun's 5 s default on a loaded machine.
    }, 60_000)
  }

  test(".env.example names none of the services' own variables (Bun loads a root .env by itself)", () => {
    const python = join(repoRoot, 'estimator/.venv/bin/python')
    if (!existsSync(python)) throw new Error(`${python} is missing: run estimator/scripts/setup.sh first`)
    const fields = Bun.spawnSync([
      python,
      '-c',
      'from estimator.config import Settings; print(" ".join(Settings.model_fields))',
    ])
    const estimatorVariables = fields.stdout
      .toString()
      .trim()
      .split(' ')
      .map((name) => name.toUpperCase())
    expect(estimatorVariables).toContain('KAFKA_BROKERS')
    const serviceVariables = new Set([
      ...Object.keys(StockConfigSchema.properties),
      ...Object.keys(AdsConfigSchema.properties),
      ...estimatorVariables,
      'SCHEMA_REGISTRY_URL',
      'DATABASE_URL',
      'MONGODB_URL',
    ])
    const example = readFileSync(join(repoRoot, '.env.example'), 'utf8')
    const names = [...example.matchAll(/^([A-Z0-9_]+)=/gm)].map((match) => match[1] ?? '')
    expect(names.length).toBeGreaterThan(10)
    expect(
      names.filter(
        (name) => serviceVariables.has(name) || name.startsWith('PG') || name.startsWith('STACK_'),
      ),
    ).toEqual([])
  })
})
