/**
 * The database seam: PostgreSQL through postgres.js, or embedded PGlite when no `DATABASE_URL` is set.
 * Both expose the same small surface: drizzle (`orm`) for typed queries, `query` for the few hot
 * statements written as SQL (prepared and cached per connection by postgres.js), transactions, LISTEN,
 * a ping for readiness, close for shutdown.
 */
import { mkdirSync } from 'node:fs'
import type { PGlite } from '@electric-sql/pglite'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js'
import postgres from 'postgres'
import * as schema from './schema'

export type Row = Record<string, unknown>
export type StockOrm = PgDatabase<PgQueryResultHKT, typeof schema>

export interface Sql {
  query<T extends Row = Row>(text: string, params?: readonly unknown[]): Promise<T[]>
}

export interface Listener {
  unlisten(): Promise<void>
}

/** One connection of its own (session state such as advisory locks stays with it) until released. */
export interface Session extends Sql {
  release(): void
}

export interface Database extends Sql {
  readonly kind: 'postgres' | 'pglite'
  readonly orm: StockOrm
  transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T>
  /**
   * A session of its own, outside the pool, for state that lives in one session (the relay's advisory
   * lock); `release` closes it. PGlite: its one connection.
   */
  openSession(): Promise<Session>
  /** Calls `onNotify` for every NOTIFY on `channel` (postgres.js re-listens after a reconnect). */
  listen(channel: string, onNotify: () => void): Promise<Listener>
  ping(): Promise<void>
  close(): Promise<void>
}

export interface PostgresOptions {
  url: string
  max: number
  connectTimeoutSeconds: number
  /** Shown in pg_stat_activity, so operators can tell the pools apart. */
  applicationName: string
}

type Param = postgres.ParameterOrJSON<never>

export function openPostgres(options: PostgresOptions): Database {
  const client = postgres(options.url, {
    max: options.max,
    connect_timeout: options.connectTimeoutSeconds,
    idle_timeout: 60,
    prepare: true,
    onnotice: () => {},
    connection: { application_name: options.applicationName },
  })
  const run = <T extends Row>(
    sql: postgres.Sql | postgres.TransactionSql | postgres.ReservedSql,
    text: string,
    params?: readonly unknown[],
  ) => sql.unsafe(text, (params ?? []) as Param[], { prepare: true }) as unknown as Promise<T[]>
  return {
    kind: 'postgres',
    orm: drizzlePostgres(client, { schema }) as unknown as StockOrm,
    query: (text, params) => run(client, text, params),
    transaction: <T>(work: (tx: Sql) => Promise<T>) =>
      client.begin((tx) => work({ query: (text, params) => run(tx, text, params) })) as Promise<T>,
    async openSession() {
      // Not the pool's reserve(): a reserve queued behind busy connections can stay pending forever
      // (porsager/postgres#1195; seen here as a relay that never led, silently, under a burst of POSTs).
      // A one-connection client of its own connects within connect_timeout or fails, and never retires
      // its connection on a timer (max_lifetime), which would drop the session's lock.
      const own = postgres(options.url, {
        max: 1,
        connect_timeout: options.connectTimeoutSeconds,
        max_lifetime: null,
        prepare: true,
        onnotice: () => {},
        connection: { application_name: `${options.applicationName}-session` },
      })
      try {
        await own`select 1`
      } catch (error) {
        await own.end({ timeout: 0 })
        throw error
      }
      return {
        query: (text, params) => run(own, text, params),
        release: () => void own.end({ timeout: 5 }),
      }
    },
    async listen(channel, onNotify) {
      const meta = await client.listen(channel, () => onNotify())
      return { unlisten: () => meta.unlisten() }
    },
    async ping() {
      await client`select 1`
    },
    close: () => client.end({ timeout: 5 }),
  }
}

/**
 * Opens (creating it if needed) the embedded database in `dataDir` (`memory://` for tests) and applies
 * the migrations: PGlite is one process's own database, so nobody else can migrate it.
 */
export async function openPglite(dataDir: string): Promise<Database> {
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true })
  // Loaded only when used: a PostgreSQL deployment never pays PGlite's memory.
  const [{ PGlite }, { drizzle: drizzlePglite }, { migratePgliteClient }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('drizzle-orm/pglite'),
    import('./migrate-pglite'),
  ])
  const client = await PGlite.create(dataDir)
  await migratePgliteClient(client)
  const run = async <T extends Row>(
    pg: Pick<PGlite, 'query'>,
    text: string,
    params?: readonly unknown[],
  ): Promise<T[]> => (await pg.query<T>(text, params as unknown[])).rows
  return {
    kind: 'pglite',
    orm: drizzlePglite(client, { schema }) as unknown as StockOrm,
    query: (text, params) => run(client, text, params),
    transaction: <T>(work: (tx: Sql) => Promise<T>) =>
      client.transaction((tx) => work({ query: (text, params) => run(tx, text, params) })),
    openSession: async () => ({ query: (text, params) => run(client, text, params), release: () => {} }),
    async listen(channel, onNotify) {
      const unlisten = await client.listen(channel, () => onNotify())
      return { unlisten }
    },
    async ping() {
      await client.query('select 1')
    },
    close: () => client.close(),
  }
}
