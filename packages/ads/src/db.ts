/** The one MongoDB client of the service (official driver), and how it is opened. */
import { type Db, MongoClient } from 'mongodb'

export type { Db, MongoClient }

export interface MongoOptions {
  url: string
  database: string
  /** How long an operation waits for a reachable server before failing (readiness, retries). */
  serverSelectionTimeoutMs?: number
  /** How long a request may wait for the server's next byte before it fails (default 30 000 ms). */
  socketTimeoutMs?: number
  appName?: string
}

export interface MongoHandle {
  client: MongoClient
  db: Db
  close(): Promise<void>
}

/**
 * Connects and checks the server answers. The driver reconnects by itself afterwards; operations fail
 * after `serverSelectionTimeoutMs` while the server is away, which the projection turns into a paused
 * topic and retries, and readiness into 503.
 */
export async function connectMongo(options: MongoOptions): Promise<MongoHandle> {
  const client = new MongoClient(options.url, {
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMs ?? 5_000,
    // Without it a request the server never answers (a connection left open by a server that stopped
    // responding) waits forever: the projection's write never settles, its partition never moves, and
    // nothing is logged. With it the request fails as a network error, which the projection retries on a
    // new connection. 30 s is far above any answer seen (a batch write of 500 ads, a page of the list).
    socketTimeoutMS: options.socketTimeoutMs ?? 30_000,
    appName: options.appName ?? 'vehicles-ads',
    // The server here (FerretDB) has no sessions to retry writes in; the projection retries itself.
    retryWrites: false,
  })
  await client.connect()
  const db = client.db(options.database)
  await db.command({ ping: 1 })
  return { client, db, close: () => client.close() }
}
