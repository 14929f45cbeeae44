/**
 * Kafka's own command-line tools over the local stack's Kafka jars: for what neither kcat nor the Kafka
 * module does (a group's offsets set while it has no member, broker configs). `installKafkaTools` also
 * writes them as stand-ins for the Confluent images' scripts (the same Kafka line as Confluent Platform
 * 7.9), which the compose checks put on PATH. Like the real scripts they honour KAFKA_HEAP_OPTS.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type CommandResult, runCommand } from '../command'
import { loadConfig, type StackConfig } from './config'
import { kafkaLibDir } from './kafka'

const TOOLS = {
  'kafka-topics': 'org.apache.kafka.tools.TopicCommand',
  'kafka-broker-api-versions': 'kafka.admin.BrokerApiVersionsCommand',
  'kafka-consumer-groups': 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand',
  'kafka-configs': 'kafka.admin.ConfigCommand',
} as const

export type KafkaTool = keyof typeof TOOLS

// Warnings only, on stderr, so stdout carries just what the tool answers.
const LOG4J =
  'log4j.rootLogger=WARN, stderr\nlog4j.appender.stderr=org.apache.log4j.ConsoleAppender\n' +
  'log4j.appender.stderr.Target=System.err\nlog4j.appender.stderr.layout=org.apache.log4j.PatternLayout\n' +
  'log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n\n'

/** The java command line of `tool` before its own arguments; writes its log4j file into `dir`. */
function toolCommand(tool: KafkaTool, dir: string, config: StackConfig): string[] {
  const log4j = join(dir, 'tools-log4j.properties')
  mkdirSync(dir, { recursive: true })
  writeFileSync(log4j, LOG4J)
  const java = join(config.kafkaJavaHome, 'bin', 'java')
  return [java, `-cp`, `${kafkaLibDir(config)}/jars/*`, `-Dlog4j.configuration=file:${log4j}`, TOOLS[tool]]
}

/** Writes the shims into `<dir>/bin` and returns a PATH that finds them first. */
export function installKafkaTools(dir: string): string {
  const config = loadConfig()
  const bin = join(dir, 'bin')
  mkdirSync(bin, { recursive: true })
  for (const name of Object.keys(TOOLS) as KafkaTool[]) {
    const [java, ...rest] = toolCommand(name, dir, config)
    writeFileSync(
      join(bin, name),
      [
        '#!/usr/bin/env bash',
        `# Stand-in for the Confluent image's ${name}.`,
        `exec "${java}" \${KAFKA_HEAP_OPTS:--Xmx256m} ${rest.map((arg) => `"${arg}"`).join(' ')} "$@"`,
        '',
      ].join('\n'),
    )
    chmodSync(join(bin, name), 0o755)
  }
  return `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`
}

/**
 * Runs one tool of the stack in `stackDir` (the STACK_DIR of its stack.env; its JVM starts in about two
 * seconds). The tools report some refusals (e.g. "the group is not inactive") on stdout with exit code 0:
 * callers check what they print.
 */
export function runKafkaTool(
  tool: KafkaTool,
  args: string[],
  options: { stackDir?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
  const config = loadConfig()
  if (options.stackDir !== undefined) config.dir = options.stackDir
  const [java, ...rest] = toolCommand(tool, join(config.dir, 'run', 'kafka-tools'), config)
  return runCommand([java as string, '-Xmx128m', ...rest, ...args], {
    timeoutMs: options.timeoutMs ?? 60_000,
  })
}
