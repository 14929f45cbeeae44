import { expect, test } from 'bun:test'
import { parseWrk, toMs } from './wrk'

const sample = `Running 5s test @ http://127.0.0.1:3902/stock
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.10ms    2.01ms  41.22ms   88.12%
    Req/Sec     3.95k   301.17     4.40k    76.00%
  Latency Distribution
     50%    3.71ms
     75%  812.00us
     90%    1.02s
     99%    1.50m
  19660 requests in 5.01s, 6.41MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:   3924.15
Transfer/sec:      1.28MB
`

test('units become milliseconds', () => {
  expect(toMs('456.00us')).toBeCloseTo(0.456)
  expect(toMs('3.71ms')).toBeCloseTo(3.71)
  expect(toMs('1.02s')).toBeCloseTo(1020)
  expect(toMs('1.50m')).toBeCloseTo(90_000)
  expect(toMs('fast')).toBeNaN()
})

test("wrk's report is read whole: throughput, percentiles, errors", () => {
  const r = parseWrk(sample)
  expect(r.requests).toBe(19_660)
  expect(r.seconds).toBeCloseTo(5.01)
  expect(r.rps).toBeCloseTo(3924.15)
  expect(r.p50Ms).toBeCloseTo(3.71)
  expect(r.p75Ms).toBeCloseTo(0.812)
  expect(r.p90Ms).toBeCloseTo(1020)
  expect(r.p99Ms).toBeCloseTo(90_000)
  expect(r.socketErrors).toBe(5)
  expect(r.non2xx).toBe(7)
})

test('a clean run has no errors', () => {
  const r = parseWrk(sample.replace(/ {2}Socket errors.*\n/, '').replace(/ {2}Non-2xx.*\n/, ''))
  expect(r.non2xx).toBe(0)
  expect(r.socketErrors).toBe(0)
})
