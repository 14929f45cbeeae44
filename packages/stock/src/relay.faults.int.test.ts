/**
 * The outbox relay's exactly-once guarantee under the faults that broke its earlier heuristics, on the
 * real stack (PostgreSQL, three Kafka brokers). Relays run in this process, each with its own pool and
 * leader session, so a test can step in between two of their calls; each test has a fresh database
 * and a topic of its own, read back by the outbox ids in the records' headers under read_committed.
 * One test stops a broker (SIGSTOP, 5 s): it runs in the fault step of `bun run test`.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { type Admin, createTransactionalProducer, partitionForKey } from '@vehicles/kafka'
import {
  coordinatorOf,
  coordinatorsOf,
  createTestDatabase,
  kcat,
  stackEnv,
  type TestDatabase,
  waitFor,
} from '@vehicles/testing'
import { connectAdmin, uniqueName } from '@vehicles/testing/kafka'
import { createTransactionSession } from '../../kafka/src/rdkafka/producer'
import { migratePostgresUrl } from './db/migrate'
import { LEADER_LOCK } from './outbox/leadership'
import type { Publisher } from './outbox/publisher'
import {
  brokerPid,
  exactlyOnceProblems,
  fillOutbox,
  idsOnTopic,
  relayTopic,
  type TestRelay,
  testRelay,
} from './testing/relay'

/** How long after a send starts its partition leader is stopped (its partitions registered by then). */
const STOP_AFTER_MS = 20

/** Every outbox id on the topic under read_uncommitted: aborted records included. */
async function uncommittedIds(topic: string): Promise<string[]> {
  const result = await kcat(
    [
      '-C',
      '-b',
      stackEnv().KAFKA_BROKERS,
      '-t',
      topic,
      '-o',
      'beginning',
      '-e',
      '-q',
      '-X',
      'isolation.level=read_uncommitted',
      '-f',
      '%h\\n',
    ],
    undefined,
    60_000,
  )
  return [...result.stdout.matchAll(/outbox-id=(\d+)/g)].map((m) => m[1] as string)
}

let admin: Admin
const topics: string[] = []
const databases: TestDatabase[] = []
const relays: TestRelay[] = []
const stoppedBrokers = new Set<number>()

beforeAll(async () => {
  admin = await connectAdmin()
})
afterAll(async () => {
  for (const pid of stoppedBrokers) process.kill(pid, 'SIGCONT')
  for (const r of relays) {
    await r.relay.stop().catch(() => {})
    await r.db.close().catch(() => {})
  }
  for (const d of databases) await d.drop().catch(() => {})
  await admin.deleteTopics(topics).catch(() => {})
  await admin.disconnect()
})

async function setup(rows: number) {
  const database = await createTestDatabase('stock_relay_fault')
  databases.push(database)
  await migratePostgresUrl(database.url)
  const topic = await relayTopic(admin)
  topics.push(topic)
  const ids = await fillOutbox(database.sql, topic, rows)
  return { database, topic, ids }
}

function start(input: Parameters<typeof testRelay>[0]): TestRelay {
  const r = testRelay(input)
  relays.push(r)
  r.relay.start()
  return r
}

async function allSent(database: TestDatabase, total: number, timeoutMs: number, story: () => string) {
  await waitFor(
    `all ${total} rows marked sent`,
    async () => {
      const [row] = await database.sql<
        { n: number }[]
      >`select count(*)::int as n from outbox where sent_at is not null`
      if (row?.n === total) return true
      throw new Error(`${row?.n} sent; ${story()}`)
    },
    { timeoutMs, intervalMs: 200 },
  )
}

/**
 * A relay transactional id coordinated by a broker other than one of `topicLeaders` (the leaders of the
 * topic's partitions now, which after earlier broker faults may be two brokers only). Returns the id and
 * its coordinator.
 */
async function relayIdLeavingALeaderOut(
  prefix: string,
  topicLeaders: ReadonlySet<number>,
): Promise<{ transactionalId: string; coordinator: number }> {
  const brokers = stackEnv().KAFKA_BROKERS
  // Kafka creates its transaction log on the first lookup of any transactional id, so on a fresh stack it
  // is not there yet: registering an id once creates it (the relay started afterwards fences this
  // producer, as any newer holder of the id does).
  const registrar = createTransactionalProducer({
    brokers: brokers.split(','),
    clientId: uniqueName('relay-test-registrar'),
    transactionalId: uniqueName(`${prefix}-registrar`),
  })
  await registrar.connect()
  await registrar.disconnect()
  await waitFor(
    'the transaction log to have leaders',
    () => coordinatorOf(brokers, '__transaction_state', prefix),
    { timeoutMs: 30_000, intervalMs: 200 },
  )
  // Placement is by hash: candidates are tried locally against one read of the log's leaders.
  const candidates = Array.from({ length: 50 }, () => uniqueName(prefix))
  const coordinators = await coordinatorsOf(brokers, '__transaction_state', candidates)
  for (const [index, transactionalId] of candidates.entries()) {
    const coordinator = coordinators[index] as number
    if ([...topicLeaders].some((leader) => leader !== coordinator)) return { transactionalId, coordinator }
  }
  throw new Error(
    `none of 50 relay ids is coordinated outside the topic's leaders [${[...topicLeaders].join(', ')}]`,
  )
}

test('a send whose outcome is unknown and lands late (partition leader SIGSTOPped during it, resumed after the timeout): every row exactly once, none marked that is not on the topic', async () => {
  const { database, topic, ids } = await setup(1_500)
  const [described] = await admin.describeTopics([topic])
  const topicLeaders = new Set(
    (described?.partitions ?? []).map((p) => p.leader).filter((leader) => leader >= 0),
  )
  const { transactionalId, coordinator } = await relayIdLeavingALeaderOut('relay-sigstop', topicLeaders)
  // A partition led by a broker that does not coordinate the relay's id: the coordinator stays up, so
  // the produce request sits in the stopped leader and is handled only when it resumes, after the send
  // timed out. The relay runs on one id here, not its rotation: the ids of a rotation differ in their
  // last character, so their hashes are consecutive and so are their transaction-log partitions, and
  // eight of them always have every broker of three as a coordinator; any stopped broker would then also
  // stop a coordinator. How a rotation is fenced and taken over is the Kafka module's test.
  const victim = described?.partitions.find((p) => p.leader >= 0 && p.leader !== coordinator)
  if (victim === undefined)
    throw new Error(`every partition of ${topic} is led by the coordinator ${coordinator}`)
  let sends = 0
  let stoppedAt = 0
  /** The rows of the send that failed while the broker was stopped, and whether any was sent again. */
  let failedRows: string[] = []
  let resent = false
  const events: string[] = []
  /**
   * Notes the first send that fails once the broker is stopped: the one whose outcome the relay cannot
   * know. Which send that is depends on the client: one whose request already sat in the stopped broker
   * may simply complete late (librdkafka waits for an in-flight request rather than time it out), and
   * then the next, still queued, is the one that times out.
   */
  const noteFailure = async <T>(sending: Promise<T>, rowIds: string[]): Promise<T> => {
    try {
      return await sending
    } catch (error) {
      if (failedRows.length === 0) failedRows = rowIds
      events.push(`a send failed ${Date.now() - stoppedAt} ms after the stop: ${String(error).slice(0, 160)}`)
      throw error
    }
  }
  const wrap = (inner: Publisher): Publisher => ({
    ...inner,
    async publish(records) {
      sends += 1
      const rowIds = records.map((r) => r.event.headers['outbox-id'] as string)
      if (failedRows.length > 0 && rowIds.some((id) => failedRows.includes(id))) resent = true
      if (sends < 3) return await inner.publish(records)
      if (stoppedAt > 0) return await noteFailure(inner.publish(records), rowIds)
      // The previous transaction's markers settle first (a stop now would hold those up instead);
      // then the broker stops while this transaction is under way (registering its partitions,
      // producing, or committing): its requests wait inside the stopped broker past the deadline.
      await Bun.sleep(500)
      let done = false
      const sending = inner.publish(records).finally(() => {
        done = true
      })
      await Bun.sleep(STOP_AFTER_MS)
      if (done) return await sending // finished before the stop: the next send is tried
      const pid = brokerPid(victim.leader)
      process.kill(pid, 'SIGSTOP')
      stoppedBrokers.add(pid)
      stoppedAt = Date.now()
      events.push(`send ${sends}: broker ${victim.leader} (leader of partition ${victim.partition}) stopped`)
      setTimeout(() => {
        process.kill(pid, 'SIGCONT')
        stoppedBrokers.delete(pid)
        events.push(`broker ${victim.leader} resumed after ${Date.now() - stoppedAt} ms`)
      }, 5_000)
      return await noteFailure(sending, rowIds)
    },
  })
  const { relay } = start({
    url: database.url,
    name: uniqueName('relay-sigstop'),
    transactionalId,
    rotation: 1,
    deliveryTimeoutMs: 3_000,
    batchSize: 100,
    concurrency: 1,
    wrap,
  })
  await allSent(
    database,
    ids.length,
    120_000,
    () => `${events.join('; ')}; relay ${JSON.stringify(relay.status())}`,
  )
  // What landed of the transaction that timed out: records on the topic that read_committed skips.
  const landed = (await uncommittedIds(topic)).length - (await idsOnTopic(admin, topic)).size
  const fate = resent
    ? 'not committed: sent again'
    : 'committed after its deadline: found by id, not sent again'
  console.log(
    `sigstop: ${events.join('; ')}; the failed send was ${fate}; aborted records on the topic: ${landed}`,
  )
  expect(failedRows.length).toBeGreaterThan(0)
  expect(await exactlyOnceProblems(admin, database.sql, topic, ids)).toEqual([])
}, 180_000)

test('a relay whose leader session is killed in the middle of resolving changes no offset and no mark afterwards', async () => {
  const { database, topic, ids } = await setup(300)
  const transactionalId = uniqueName('relay-killed')
  let loseAck = true
  let readBacks = 0
  let starts = 0
  let afterKill: unknown
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  const snapshot = async () =>
    database.sql<{ state: string }[]>`
      select (select count(*) from outbox where sent_at is not null)::text || ' sent; ' ||
        coalesce((select string_agg(partition || ':' || next_offset, ',' order by partition) from outbox_relay_offsets), '') as state`
  const wrap = (inner: Publisher): Publisher => ({
    ...inner,
    async start() {
      // Sessions: 1 at the start, 2 for the recovery that is cut short, 3 for the next one (held until
      // the test has looked at what the cut-short one left).
      starts += 1
      if (starts === 3) await gate
      await inner.start()
    },
    async publish(records) {
      const deliveries = await inner.publish(records)
      if (loseAck) {
        // Committed on Kafka; the relay is told otherwise (an acknowledgement lost on the way).
        loseAck = false
        throw new Error('acknowledgement lost (test)')
      }
      return deliveries
    },
    async readBack(t, partition, from) {
      const found = await inner.readBack(t, partition, from)
      readBacks += 1
      if (readBacks === 1) {
        // Half-way through resolving: the leader session dies (as when its connection is cut).
        const killed = await database.sql`select pg_terminate_backend(pid) from pg_stat_activity
          where datname = ${database.name} and application_name = ${`${name}-session`}`
        expect(killed.length).toBe(1)
        afterKill = (await snapshot())[0]?.state
      }
      return found
    },
  })
  const name = uniqueName('relay-killed')
  const { relay } = start({ url: database.url, name, transactionalId, batchSize: 100, concurrency: 1, wrap })
  await waitFor(
    'the relay to lose the lead while resolving',
    () => (relay.status().lastError?.includes('no longer holds the lock') ? true : undefined),
    {
      timeoutMs: 60_000,
      intervalMs: 20,
    },
  )
  // Whatever it had under way when its session died changed nothing.
  expect((await snapshot())[0]?.state).toBe(afterKill as string)
  expect(String(afterKill)).toStartWith('0 sent')
  release()
  // It takes the lead again on a new session, reads back, and finishes: each row once.
  await allSent(database, ids.length, 60_000, () => JSON.stringify(relay.status()))
  expect(await exactlyOnceProblems(admin, database.sql, topic, ids)).toEqual([])
}, 120_000)

test('two relays racing through three takeovers under 3,000 rows: each row exactly once', async () => {
  const { database, topic, ids } = await setup(3_000)
  const transactionalId = uniqueName('relay-race')
  const names = [uniqueName('relay-a'), uniqueName('relay-b')]
  const pair = names.map((name) =>
    start({ url: database.url, name, transactionalId, batchSize: 40, concurrency: 1 }),
  )
  const sentCount = async () =>
    (await database.sql<{ n: number }[]>`select count(*)::int as n from outbox where sent_at is not null`)[0]
      ?.n ?? 0
  const takeovers: string[] = []
  const holder = async () =>
    (
      await database.sql<{ pid: number; name: string }[]>`
        select l.pid, a.application_name as name from pg_locks l join pg_stat_activity a on a.pid = l.pid
        where l.locktype = 'advisory' and l.granted and l.objsubid = 1 and a.datname = ${database.name}
          and ((l.classid::bigint << 32) | l.objid::bigint) = ${LEADER_LOCK}`
    )[0]
  for (const atLeast of [500, 1_200, 1_900]) {
    await waitFor(`${atLeast} rows sent`, async () => ((await sentCount()) >= atLeast ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 10,
    })
    const deposed = await holder()
    if (deposed === undefined)
      throw new Error(`no leader: ${JSON.stringify(pair.map((r) => r.relay.status()))}`)
    // The leader's session dies mid-stream; a relay takes over on a new session while the old one runs on.
    await database.sql`select pg_terminate_backend(${deposed.pid}::int)`
    const next = await waitFor(
      'a new leader session',
      async () => {
        const now = await holder()
        return now !== undefined && now.pid !== deposed.pid ? now : undefined
      },
      { timeoutMs: 30_000, intervalMs: 10 },
    )
    takeovers.push(`${deposed.name} deposed at ${await sentCount()} sent, ${next.name} leads`)
  }
  await allSent(
    database,
    ids.length,
    120_000,
    () => `${takeovers.join('; ')}; ${JSON.stringify(pair.map((r) => r.relay.status()))}`,
  )
  console.log(`race: ${takeovers.join('; ')}`)
  expect(await exactlyOnceProblems(admin, database.sql, topic, ids)).toEqual([])
}, 240_000)

test("another writer's open transaction holding the stable offset back: recovery waits for it, then finds the committed rows (none sent twice)", async () => {
  const { database, topic, ids } = await setup(200)
  // A foreign transaction on every partition, left open: read_committed readers stop at its start. It
  // is driven step by step through the Kafka engine's transaction session (the module's producer
  // commits or aborts within one call), one record per partition by key.
  const keys = new Map<number, string>()
  for (let i = 0; keys.size < 6; i++) {
    const partition = partitionForKey(`foreign-${i}`, 6)
    if (!keys.has(partition)) keys.set(partition, `foreign-${i}`)
  }
  const foreign = createTransactionSession({
    brokers: stackEnv().KAFKA_BROKERS.split(','),
    clientId: uniqueName('foreign'),
    transactionalId: uniqueName('foreign-tx'),
  })
  await foreign.init()
  foreign.begin()
  await foreign.produce([...keys.values()].map((key) => ({ topic, key, value: Buffer.from('open') })))
  let loseAck = true
  let endedAt = 0
  const wrap = (inner: Publisher): Publisher => ({
    ...inner,
    async publish(records) {
      const deliveries = await inner.publish(records)
      if (loseAck) {
        // Committed, after the foreign transaction's start: invisible to read_committed for now.
        loseAck = false
        setTimeout(() => {
          endedAt = Date.now()
          void foreign.abort()
        }, 4_000)
        throw new Error('acknowledgement lost (test)')
      }
      return deliveries
    },
  })
  const { relay } = start({
    url: database.url,
    name: uniqueName('relay-held'),
    transactionalId: uniqueName('relay-held'),
    batchSize: 50,
    concurrency: 1,
    wrap,
  })
  try {
    await allSent(database, ids.length, 90_000, () => JSON.stringify(relay.status()))
    expect(endedAt).toBeGreaterThan(0)
    expect(await exactlyOnceProblems(admin, database.sql, topic, ids)).toEqual([])
  } finally {
    await foreign.close()
  }
}, 120_000)
