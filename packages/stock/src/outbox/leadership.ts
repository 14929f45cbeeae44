/**
 * Who relays the outbox: the holder of a PostgreSQL advisory lock on a session of its own. Owns that
 * session, taking and giving up the lock, and the condition every statement that changes relay state
 * puts inside itself (`LEADS`).
 *
 * The lock is not what guarantees a single writer to Kafka: the relay's fixed transactional id does
 * (a new leader's producer init fences the old one, see recovery.ts). The lock keeps relays from
 * contending (one sends, the others stand by) and guards the database side: a statement that marks
 * rows or moves offsets changes nothing unless, while it runs, the session that took the lock still
 * holds it. A leader whose session died (killed, connection lost: the client would reconnect silently,
 * on a session without the lock) can therefore no longer change relay state, whatever it still has
 * in flight.
 */
import type { Logger } from '@vehicles/platform'
import type { Database, Session } from '../db/database'

/** An arbitrary constant naming "vehicles-stock outbox relay leader" among advisory locks. */
export const LEADER_LOCK = 7_310_421_102

const TAKE_LEAD = 'select pg_try_advisory_lock($1) as locked, pg_backend_pid() as pid'

/**
 * A CTE named `leader`: one row while the session with backend pid `$<pidParam>` holds the leader
 * lock, none otherwise. pg_locks is read at the statement's start and a session's locks go with it,
 * so a session killed before the statement finds no row.
 */
export const leaderCte = (pidParam: number) => `leader as (
    select 1 from pg_locks
    where locktype = 'advisory' and granted and pid = $${pidParam}::int
      and ((classid::bigint << 32) | objid::bigint) = ${LEADER_LOCK}::bigint and objsubid = 1
  )`

export class LeadershipLost extends Error {
  override readonly name = 'LeadershipLost'
}

export interface Leadership {
  /** Takes the lock if free (true), or stands by (false) while another relay holds it. */
  acquire(): Promise<boolean>
  /** The session holding the lock; throws `LeadershipLost` when there is none. */
  session(): { conn: Session; pid: number }
  readonly leading: boolean
  /** Gives the lock and the session up (best effort: a dead session has dropped the lock already). */
  resign(): Promise<void>
}

export function createLeadership(
  db: Database,
  logger: Logger,
  onChange: (leading: boolean) => void,
): Leadership {
  let held: { conn: Session; pid: number } | undefined
  /** A standby's session, on which it asks for the lock again at every round. */
  let candidate: Session | undefined
  let announcedStandby = false

  return {
    async acquire() {
      if (held !== undefined) return true
      const conn = candidate ?? (await db.openSession())
      candidate = conn
      try {
        const [row] = await conn.query<{ locked: boolean; pid: number }>(TAKE_LEAD, [LEADER_LOCK])
        if (row?.locked !== true) {
          if (!announcedStandby) {
            announcedStandby = true
            logger.info('outbox.relay.standby', 'another relay leads: this one stands by to take over')
          }
          return false
        }
        candidate = undefined
        announcedStandby = false
        held = { conn, pid: row.pid }
        onChange(true)
        logger.info('outbox.relay.leading', 'this relay leads: it is the one sending the outbox')
        return true
      } catch (error) {
        candidate = undefined
        conn.release()
        throw error
      }
    },
    session() {
      if (held === undefined) throw new LeadershipLost('not the leader')
      return held
    },
    get leading() {
      return held !== undefined
    },
    async resign() {
      const current = held
      held = undefined
      candidate?.release()
      candidate = undefined
      if (current === undefined) return
      onChange(false)
      await current.conn.query('select pg_advisory_unlock($1)', [LEADER_LOCK]).catch(() => {})
      current.conn.release()
    },
  }
}
