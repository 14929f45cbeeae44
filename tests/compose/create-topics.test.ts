/**
 * infra/compose/create-topics.sh reads infra/topics.json with bash alone (the Confluent image has no jq
 * or python). Its dry run must plan exactly the topics a JSON parser reads from the same file, and it
 * must refuse shapes it does not understand instead of guessing.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { repoRoot } from '../../infra/compose/config'

const script = join(repoRoot, 'infra/compose/create-topics.sh')
const scratch = mkdtempSync(join(tmpdir(), 'create-topics-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }), 60_000)

interface TopicSpec {
  name: string
  partitions?: number
  replicationFactor?: number
  configs?: Record<string, string>
}
interface TopicsFile {
  defaults: Omit<TopicSpec, 'name'>
  topics: TopicSpec[]
}

function dryRun(file: string): { code: number; stdout: string; stderr: string } {
  const child = Bun.spawnSync(['bash', script], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', DRY_RUN: '1', TOPICS_FILE: file },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  return { code: child.exitCode ?? -1, stdout: child.stdout.toString(), stderr: child.stderr.toString() }
}

/** The plan line the script prints for one topic, computed from the parsed JSON. */
function expectedLine(defaults: TopicsFile['defaults'], topic: TopicSpec): string {
  const partitions = topic.partitions ?? defaults.partitions
  const rf = topic.replicationFactor ?? defaults.replicationFactor
  const configs = { ...defaults.configs, ...topic.configs }
  const flags = Object.entries(configs).map(([key, value]) => `--config ${key}=${value}`)
  return `create ${topic.name} partitions=${partitions} replicationFactor=${rf} ${flags.join(' ')}`.trimEnd()
}

function fixture(name: string, content: unknown): string {
  const path = join(scratch, name)
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2))
  return path
}

describe('create-topics.sh', () => {
  test('plans exactly the topics of infra/topics.json', () => {
    const file = join(repoRoot, 'infra/topics.json')
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as TopicsFile
    const run = dryRun(file)
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    const lines = run.stdout.trimEnd().split('\n')
    expect(lines).toEqual(parsed.topics.map((topic) => expectedLine(parsed.defaults, topic)))
    // The system's names, 6 partitions, RF 3, min ISR 2 (docs/architecture.md).
    expect(lines).toContain(
      'create stock.vehicle-created partitions=6 replicationFactor=3 --config min.insync.replicas=2',
    )
    expect(lines).toContain(
      'create stock.vehicle-processed.dlq partitions=6 replicationFactor=3 --config min.insync.replicas=2',
    )
  })

  test('per-topic values override the defaults, configs key by key, any key order and layout', () => {
    const content: TopicsFile = {
      defaults: {
        partitions: 6,
        replicationFactor: 3,
        configs: { 'min.insync.replicas': '2', 'retention.ms': '1000' },
      },
      topics: [
        { name: 'a', partitions: 2, configs: { 'retention.ms': '5', 'cleanup.policy': 'compact' } },
        { replicationFactor: 1, name: 'b.dlq' },
      ],
    }
    const run = dryRun(
      fixture(
        'override.json',
        `{"topics":${JSON.stringify(content.topics)},\n"defaults":\n${JSON.stringify(content.defaults, null, 4)}}`,
      ),
    )
    expect(run.stderr).toBe('')
    expect(run.stdout.trimEnd().split('\n')).toEqual([
      'create a partitions=2 replicationFactor=3 --config min.insync.replicas=2 --config retention.ms=5 --config cleanup.policy=compact',
      'create b.dlq partitions=6 replicationFactor=1 --config min.insync.replicas=2 --config retention.ms=1000',
    ])
  })

  const refusals: [string, unknown, RegExp][] = [
    [
      'a non-numeric partition count',
      { defaults: { partitions: 'six', replicationFactor: 3 }, topics: [{ name: 'a' }] },
      /"partitions" must be a positive integer/,
    ],
    [
      'a nested config value',
      { defaults: { partitions: 1, replicationFactor: 1, configs: { a: [1] } }, topics: [{ name: 'a' }] },
      /cannot read configs/,
    ],
    [
      'a topic without a name',
      { defaults: { partitions: 1, replicationFactor: 1 }, topics: [{ nam: 'a' }] },
      /without a valid "name"/,
    ],
    [
      'an empty topic list',
      { defaults: { partitions: 1, replicationFactor: 1 }, topics: [] },
      /lists no topics/,
    ],
    [
      'no replication factor anywhere',
      { defaults: { partitions: 1 }, topics: [{ name: 'a' }] },
      /no replicationFactor/,
    ],
    ['no defaults object', { topics: [{ name: 'a' }] }, /no "defaults" object/],
  ]
  for (const [what, content, message] of refusals) {
    test(`refuses ${what}`, () => {
      const run = dryRun(fixture(`${what.replaceAll(' ', '-')}.json`, content))
      expect(run.code).not.toBe(0)
      expect(run.stderr).toMatch(message)
    })
  }

  test('without DRY_RUN it needs BOOTSTRAP_SERVERS', () => {
    const child = Bun.spawnSync(['bash', script], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TOPICS_FILE: join(repoRoot, 'infra/topics.json') },
      stderr: 'pipe',
    })
    expect(child.exitCode).toBe(1)
    expect(child.stderr.toString()).toContain('BOOTSTRAP_SERVERS is not set')
  })
})
