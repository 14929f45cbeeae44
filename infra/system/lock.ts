/**
 * One running system per stack. Every system this harness starts uses the system's own topics and
 * consumer groups (`price-estimate`, `vehicles-ads`) and the estimators' stable transactional ids, as in
 * production: two systems at once would split partitions between them and fence each other's
 * transactions. So a second run waits for the first (say `bun run system` while a suite runs) and fails
 * with who holds the lock when the wait is over.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'

interface LockRecord {
  pid: number
  runId: string
  purpose: string
  startedAt: string
}

function holderAlive(record: LockRecord): boolean {
  if (record.pid === process.pid) return true
  try {
    process.kill(record.pid, 0)
    return true
  } catch {
    return false
  }
}

function read(file: string): LockRecord | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockRecord
  } catch {
    return undefined
  }
}

export async function acquireSystemLock(
  file: string,
  runId: string,
  purpose: string,
  waitMs: number,
  say: (line: string) => void,
): Promise<() => void> {
  mkdirSync(dirname(file), { recursive: true })
  const deadline = Date.now() + waitMs
  let announced = false
  for (;;) {
    try {
      const fd = openSync(file, 'wx')
      const record: LockRecord = { pid: process.pid, runId, purpose, startedAt: new Date().toISOString() }
      writeSync(fd, `${JSON.stringify(record)}\n`)
      closeSync(fd)
      return () => {
        if (read(file)?.runId === runId) rmSync(file, { force: true })
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const holder = read(file)
    if (holder === undefined || !holderAlive(holder)) {
      // Left by a run that crashed (or a half-written file): take it over.
      if (existsSync(file)) rmSync(file, { force: true })
      continue
    }
    if (Date.now() > deadline) {
      throw new Error(
        `another system run holds ${file} (pid ${holder.pid}, ${holder.purpose}, since ${holder.startedAt}); ` +
          'only one system runs on the shared stack at a time: wait for it or stop it',
      )
    }
    if (!announced) {
      say(`waiting for the system run of pid ${holder.pid} (${holder.purpose}) to finish`)
      announced = true
    }
    await Bun.sleep(1_000)
  }
}
