/**
 * Three Apicurio Registry 3.3 instances sharing one Kafka-backed store (kafkasql). Building and the
 * exact java command belong to infra/registry: `build.sh` prints the runnable jar's path on its last
 * line, `run.sh <instance> <http-port> <bootstrap> <management-port>` execs the JVM.
 */
import { join } from 'node:path'
import { runCommand } from '../command'
import { type Component, ensemble } from './component'
import { repoRoot, type StackConfig } from './config'
import { kafkaBootstrap } from './kafka'
import { httpReady } from './probes'

const REGISTRY_DIR = join(repoRoot, 'infra', 'registry')

let built: Promise<string> | undefined

/** build.sh is idempotent, but three instances preparing at once should still run it once. */
function buildOnce(config: StackConfig): Promise<string> {
  built ??= (async () => {
    const { code, out, err } = await runCommand(
      ['bash', join(REGISTRY_DIR, 'build.sh'), join(config.dir, 'registry')],
      { timeoutMs: 900_000 },
    )
    if (code !== 0) throw new Error(`infra/registry/build.sh failed (exit ${code}):\n${err.slice(-4000)}`)
    const jar = out.trim().split('\n').at(-1) ?? ''
    if (!jar.endsWith('.jar')) throw new Error(`infra/registry/build.sh printed no jar path:\n${out}`)
    return jar
  })()
  return built
}

export function registryUrl(config: StackConfig, instance: number): string {
  return `http://127.0.0.1:${config.ports.registry[instance - 1]}/apis/ccompat/v7`
}

export function registryComponents(config: StackConfig): Component[] {
  return ensemble(config, 'registry', ({ id, home }) => {
    const port = config.ports.registry[id - 1] as number
    const management = config.ports.registryManagement[id - 1] as number
    const marker = `-Dvehicles.stack=${home}`
    return {
      ports: [port, management],
      endpoint: `127.0.0.1:${port}`,
      // Three Quarkus JVMs replaying the journal on two cores.
      readyTimeoutMs: 180_000,
      async prepare() {
        await buildOnce(config)
      },
      launch() {
        return {
          argv: [
            'bash',
            join(REGISTRY_DIR, 'run.sh'),
            String(id),
            String(port),
            kafkaBootstrap(config),
            String(management),
          ],
          cwd: repoRoot,
          env: {
            REGISTRY_CACHE_DIR: join(config.dir, 'registry'),
            REGISTRY_JAVA_HOME: config.registryJavaHome,
            REGISTRY_JAVA_OPTS: marker,
          },
          marker,
        }
      },
      ready: () => httpReady(`http://127.0.0.1:${management}/health/ready`),
    }
  })
}
