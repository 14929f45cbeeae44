/** Readiness probes: each answers "ready" or throws with what it saw, so a timeout can say why. */
import { runCommand } from '../command'

/** Sends a ZooKeeper four-letter word and returns the reply (the server closes after answering). */
export async function zookeeperCommand(port: number, word: string, timeoutMs = 2_000): Promise<string> {
  let reply = ''
  const { promise, resolve, reject } = Promise.withResolvers<string>()
  // The connect call itself rejects on a refused connection; keep the second rejection quiet.
  promise.catch(() => {})
  const timer = setTimeout(() => reject(new Error(`no answer to ${word} within ${timeoutMs} ms`)), timeoutMs)
  try {
    const socket = await Bun.connect({
      hostname: '127.0.0.1',
      port,
      socket: {
        data: (_socket, chunk) => {
          reply += chunk.toString()
        },
        close: () => resolve(reply),
        error: (_socket, error) => reject(error),
        connectError: (_socket, error) => reject(error),
      },
    })
    socket.write(word)
    return await promise
  } finally {
    clearTimeout(timer)
  }
}

/** A ZooKeeper node is ready when it serves as leader or follower of the ensemble. */
export async function zookeeperReady(port: number): Promise<string> {
  const reply = await zookeeperCommand(port, 'srvr')
  const mode = /^Mode: (\w+)/m.exec(reply)?.[1]
  if (mode === 'leader' || mode === 'follower' || mode === 'standalone') return mode
  throw new Error(reply.trim().split('\n')[0] || 'empty reply')
}

export interface KafkaMetadata {
  brokers: { id: number; name: string }[]
  topics: {
    topic: string
    error?: string
    partitions: { partition: number; leader: number; replicas: { id: number }[]; isrs: { id: number }[] }[]
  }[]
}

/** Cluster metadata as one broker sees it, through kcat (librdkafka). */
export async function kafkaMetadata(bootstrap: string, topic?: string): Promise<KafkaMetadata> {
  const argv = ['kcat', '-L', '-J', '-b', bootstrap, '-m', '5']
  if (topic !== undefined) argv.push('-t', topic)
  const { code, out, err } = await runCommand(argv, { timeoutMs: 10_000 })
  if (code !== 0) throw new Error(`kcat -L on ${bootstrap}: ${err.trim() || `exit ${code}`}`)
  return JSON.parse(out) as KafkaMetadata
}

/** A broker is ready when it answers metadata and lists itself as registered. */
export async function kafkaBrokerReady(port: number, id: number): Promise<string> {
  const metadata = await kafkaMetadata(`127.0.0.1:${port}`)
  const ids = metadata.brokers.map((broker) => broker.id)
  if (!ids.includes(id)) throw new Error(`answers, but lists brokers [${ids.join(', ')}] without itself`)
  return `brokers [${ids.sort().join(', ')}]`
}

export async function httpReady(url: string, expect?: RegExp): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(3_000) })
  const body = await response.text()
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${body.slice(0, 200)}`)
  if (expect !== undefined && !expect.test(body)) throw new Error(`${url} answered ${body.slice(0, 200)}`)
  return `${response.status}`
}

/** A TCP port that accepts a connection. */
export async function tcpReady(port: number): Promise<string> {
  const socket = await Bun.connect({ hostname: '127.0.0.1', port, socket: { data: () => {} } })
  socket.end()
  return 'accepting'
}

export async function postgresReady(bin: string, port: number): Promise<string> {
  const { code, out, err } = await runCommand([`${bin}/pg_isready`, '-h', '127.0.0.1', '-p', String(port)], {
    timeoutMs: 5_000,
  })
  if (code !== 0) throw new Error((out + err).trim() || `pg_isready exit ${code}`)
  return 'accepting'
}
