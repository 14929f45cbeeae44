/**
 * Stand-ins for the Confluent images' Kafka command-line tools, over the local stack's Kafka jars (the
 * same Kafka line as Confluent Platform 7.9). Like the real scripts they honour KAFKA_HEAP_OPTS.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../../infra/stack/config'
import { kafkaLibDir } from '../../infra/stack/kafka'

const TOOLS: Record<string, string> = {
  'kafka-topics': 'org.apache.kafka.tools.TopicCommand',
  'kafka-broker-api-versions': 'kafka.admin.BrokerApiVersionsCommand',
  'kafka-consumer-groups': 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand',
}

/** Writes the shims into `<dir>/bin` and returns a PATH that finds them first. */
export function installKafkaTools(dir: string): string {
  const config = loadConfig()
  const java = join(config.kafkaJavaHome, 'bin', 'java')
  const lib = kafkaLibDir(config)
  const bin = join(dir, 'bin')
  mkdirSync(bin, { recursive: true })
  // Warnings only, on stderr, so stdout carries just what the tool answers.
  const log4j = join(dir, 'tools-log4j.properties')
  writeFileSync(
    log4j,
    'log4j.rootLogger=WARN, stderr\nlog4j.appender.stderr=org.apache.log4j.ConsoleAppender\n' +
      'log4j.appender.stderr.Target=System.err\nlog4j.appender.stderr.layout=org.apache.log4j.PatternLayout\n' +
      'log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n\n',
  )
  for (const [name, mainClass] of Object.entries(TOOLS)) {
    writeFileSync(
      join(bin, name),
      [
        '#!/usr/bin/env bash',
        `# Stand-in for the Confluent image's ${name}.`,
        `exec "${java}" \${KAFKA_HEAP_OPTS:--Xmx256m} -cp "${lib}/jars/*" -Dlog4j.configuration=file:${log4j} ${mainClass} "$@"`,
        '',
      ].join('\n'),
    )
    chmodSync(join(bin, name), 0o755)
  }
  return `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`
}
