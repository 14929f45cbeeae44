import { afterEach, expect, test } from 'bun:test'
import { ConfigError, loadConfig, PORT_OFFSET_STEP, type StackConfig } from './config'

const saved = { ...process.env }
afterEach(() => {
  for (const key of Object.keys(process.env)) if (key.startsWith('STACK_')) delete process.env[key]
  Object.assign(process.env, saved)
})

function clear() {
  for (const key of Object.keys(process.env)) if (key.startsWith('STACK_')) delete process.env[key]
}

test('defaults are the ports of docs/architecture.md', () => {
  clear()
  const { ports } = loadConfig()
  expect(ports.kafka).toEqual([19092, 19093, 19094])
  expect(ports.zookeeperClient).toEqual([12161, 12162, 12163])
  expect(ports.registry).toEqual([18071, 18072, 18073])
  expect([ports.nginx, ports.postgres, ports.ferretdb]).toEqual([18081, 15432, 27117])
})

test('STACK_PORT_OFFSET moves every port; a single port can be set on its own', () => {
  clear()
  process.env.STACK_PORT_OFFSET = '200'
  process.env.STACK_POSTGRES_PORT = '25432'
  const { ports } = loadConfig()
  expect(ports.kafka).toEqual([19292, 19293, 19294])
  expect(ports.zookeeperElection).toEqual([14148, 14149, 14150])
  expect(ports.registryManagement).toEqual([18321, 18322, 18323])
  expect(ports.postgres).toBe(25432)
})

test('bad values stop with a message naming the variable', () => {
  clear()
  process.env.STACK_KAFKA_PORT = 'ninety'
  expect(() => loadConfig()).toThrow(new ConfigError('STACK_KAFKA_PORT=ninety is not an integer'))
  clear()
  process.env.STACK_NGINX_PORT = '80'
  expect(() => loadConfig()).toThrow(/STACK_NGINX_PORT=80 is outside 1024..65535/)
  clear()
  process.env.STACK_DIR = 'relative/dir'
  expect(() => loadConfig()).toThrow(/STACK_DIR=relative\/dir must be an absolute path/)
})

function allPorts(ports: StackConfig['ports']): number[] {
  return Object.values(ports).flatMap((value) => (Array.isArray(value) ? value : [value]))
}

test('two stacks whose offsets differ by any multiple of the step share no port, ZooKeeper peers included', () => {
  clear()
  const base = allPorts(loadConfig().ports)
  expect(new Set(base).size).toBe(base.length)
  const clashes: string[] = []
  for (let offset = PORT_OFFSET_STEP; offset <= 20_000; offset += PORT_OFFSET_STEP) {
    process.env.STACK_PORT_OFFSET = String(offset)
    const moved = new Set(allPorts(loadConfig().ports))
    const shared = base.filter((port) => moved.has(port))
    if (shared.length > 0) clashes.push(`offset ${offset}: ${shared.join(', ')}`)
  }
  expect(clashes).toEqual([])
})
