/**
 * A bounded stream of `POST /stock` on loopback: `count` vehicles at up to `ratePerSecond`, at most
 * `concurrency` in flight. Each vehicle carries an Idempotency-Key, and behaves like a careful client:
 * after a 503 (it must carry Retry-After) or a dropped connection it retries the same key, so a request
 * whose answer was lost is never stored twice. Every answer is tallied; a 5xx other than 503 + Retry-After
 * counts as a server error.
 */

const VIN_ALPHABET = 'ABCDEFGHJKLMNPRSTUVWXYZ0123456789'

export function randomVin(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(17))
  return Array.from(bytes, (b) => VIN_ALPHABET[b % VIN_ALPHABET.length]).join('')
}

const MAKES = [
  ['Renault', 'Clio'],
  ['Peugeot', '208'],
  ['Volkswagen', 'Golf'],
  ['Toyota', 'Yaris'],
  ['BMW', '320d'],
] as const

export interface VehicleBody {
  vin: string
  manufacturer: string
  model: string
  year: number
  odometer: number
  odometerUnit: 'km' | 'mi'
}

export function randomVehicle(): VehicleBody {
  const [manufacturer, model] = MAKES[Math.floor(Math.random() * MAKES.length)] ?? MAKES[0]
  return {
    vin: randomVin(),
    manufacturer,
    model,
    year: 2005 + Math.floor(Math.random() * 20),
    odometer: Math.floor(Math.random() * 250_000),
    odometerUnit: Math.random() < 0.8 ? 'km' : 'mi',
  }
}

export interface LoadOptions {
  stockUrl: string
  count: number
  ratePerSecond?: number
  concurrency?: number
  /** Per attempt. */
  requestTimeoutMs?: number
  /** Give up on one vehicle after this long of retrying. */
  retryForMs?: number
  /** Stop starting new vehicles once this passes (the stream is bounded in time too). */
  maxDurationMs?: number
}

export interface LoadResult {
  /** Vehicles attempted (first attempts). */
  posted: number
  created: number
  /** Ids of the vehicles answered 201. */
  ids: string[]
  /** Every answer by status ("error" for no answer). */
  statuses: Record<string, number>
  /** 503 answers that carried Retry-After (allowed while the database is down). */
  unavailable: number
  /** 5xx answers other than 503 + Retry-After: must be 0. */
  serverErrors: number
  /** Examples of server errors and unexpected answers, for failure messages. */
  samples: string[]
  /** Vehicles never acknowledged within `retryForMs`. */
  abandoned: number
  seconds: number
}

export interface LoadHandle {
  /** Resolves when every vehicle is acknowledged or abandoned. */
  done: Promise<LoadResult>
  /** Vehicles answered 201 so far. */
  progress: () => number
  /** Their ids. */
  ids: () => string[]
}

export function postStream(options: LoadOptions): LoadHandle {
  const {
    stockUrl,
    count,
    ratePerSecond = Number.POSITIVE_INFINITY,
    concurrency = 16,
    requestTimeoutMs = 15_000,
    retryForMs = 120_000,
    maxDurationMs = 10 * 60_000,
  } = options
  const result: LoadResult = {
    posted: 0,
    created: 0,
    ids: [],
    statuses: {},
    unavailable: 0,
    serverErrors: 0,
    samples: [],
    abandoned: 0,
    seconds: 0,
  }
  const tally = (status: string) => {
    result.statuses[status] = (result.statuses[status] ?? 0) + 1
  }
  const sample = (line: string) => {
    if (result.samples.length < 10) result.samples.push(line)
  }
  const started = performance.now()

  const postOne = async (body: VehicleBody): Promise<void> => {
    const key = crypto.randomUUID()
    const giveUpAt = Date.now() + retryForMs
    for (;;) {
      let waitMs = 500
      try {
        const response = await fetch(`${stockUrl}/stock`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': key },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(requestTimeoutMs),
        })
        const text = await response.text()
        tally(String(response.status))
        if (response.status === 201) {
          const id = (JSON.parse(text) as { id?: unknown }).id
          if (typeof id !== 'string') throw new Error(`201 without an id: ${text.slice(0, 200)}`)
          result.created++
          result.ids.push(id)
          return
        }
        const retryAfter = response.headers.get('retry-after')
        if (response.status === 503 && retryAfter !== null) {
          result.unavailable++
          waitMs = Math.min(Math.max(Number(retryAfter) * 1_000, 100), 5_000)
        } else if (response.status >= 500) {
          result.serverErrors++
          sample(`${response.status} ${text.slice(0, 300)}`)
        } else {
          // A 4xx for a valid, fresh body is a bug of the service or of this client: stop retrying it.
          sample(`${response.status} ${text.slice(0, 300)}`)
          result.abandoned++
          return
        }
      } catch (error) {
        tally('error')
        sample(`no answer: ${error instanceof Error ? error.message : String(error)}`)
      }
      if (Date.now() + waitMs > giveUpAt) {
        result.abandoned++
        return
      }
      await Bun.sleep(waitMs)
    }
  }

  const done = (async () => {
    const inFlight = new Set<Promise<void>>()
    for (let i = 0; i < count; i++) {
      if (performance.now() - started > maxDurationMs) break
      const due = started + (i * 1_000) / ratePerSecond
      const wait = due - performance.now()
      if (wait > 0) await Bun.sleep(wait)
      while (inFlight.size >= concurrency) await Promise.race(inFlight)
      result.posted++
      const task = postOne(randomVehicle()).finally(() => inFlight.delete(task))
      inFlight.add(task)
    }
    await Promise.all(inFlight)
    result.seconds = (performance.now() - started) / 1000
    return result
  })()
  return { done, progress: () => result.created, ids: () => [...result.ids] }
}
