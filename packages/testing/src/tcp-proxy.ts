/**
 * A TCP proxy a test can cut: the service reaches PostgreSQL through it, and `cut()` drops every
 * connection and refuses new ones — the database "goes down" for this service only, not for the
 * other helpers sharing the stack's server. `stall()` keeps every connection open but passes no byte
 * either way (a server that stopped answering without closing anything). `restore()` undoes either.
 */
import type { Socket, TCPSocketListener } from 'bun'

interface Pair {
  client: Socket<Pair>
  upstream?: Socket<Pair>
  pending: Uint8Array[]
}

export interface TcpProxy {
  port: number
  cut(): void
  stall(): void
  restore(): void
  close(): void
}

export function startTcpProxy(targetHost: string, targetPort: number): TcpProxy {
  const pairs = new Set<Pair>()
  let stalled = false
  let listener: TCPSocketListener<Pair> | undefined
  let port = 0

  const listen = () => {
    listener = Bun.listen<Pair>({
      hostname: '127.0.0.1',
      port,
      socket: {
        open(client) {
          const pair: Pair = { client, pending: [] }
          client.data = pair
          pairs.add(pair)
          Bun.connect<Pair>({
            hostname: targetHost,
            port: targetPort,
            data: pair,
            socket: {
              open(upstream) {
                pair.upstream = upstream
                for (const chunk of pair.pending) upstream.write(chunk)
                pair.pending = []
              },
              data(_upstream, chunk) {
                if (!stalled) pair.client.write(chunk)
              },
              close() {
                pair.client.end()
                pairs.delete(pair)
              },
              error() {
                pair.client.end()
              },
            },
          }).catch(() => client.end())
        },
        data(client, chunk) {
          if (stalled) return
          const pair = client.data
          if (pair.upstream !== undefined) pair.upstream.write(chunk)
          else pair.pending.push(new Uint8Array(chunk))
        },
        close(client) {
          client.data.upstream?.end()
          pairs.delete(client.data)
        },
        error(client) {
          client.data.upstream?.end()
        },
      },
    })
    port = listener.port
  }
  listen()

  return {
    get port() {
      return port
    },
    cut() {
      listener?.stop(true)
      listener = undefined
      for (const pair of pairs) {
        pair.client.terminate()
        pair.upstream?.terminate()
      }
      pairs.clear()
    },
    stall() {
      stalled = true
    },
    restore() {
      stalled = false
      if (listener === undefined) listen()
    },
    close() {
      this.cut()
    },
  }
}
