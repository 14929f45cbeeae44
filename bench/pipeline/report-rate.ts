/** The latency phase's report: one rate's sections, and the sweep's table of all rates. */
import { fixed, type Report, table } from '../lib/report'
import { percentile } from './common'
import { type RateResult, STAGES } from './latency'

const BOUNDS_MS = [25, 50, 100, 250, 500, 1_000, 2_500]
const ms = (list: number[], q: number) => fixed(percentile(list, q), 1)

/** Appends one rate's sections to the report; returns its p99 (ms). */
export function reportRate(report: Report, r: RateResult, problems: string[]): number {
  const s = r.samples
  const counted =
    `${s.length} ads counted of ${r.sent} POSTs: left out ${r.sent - r.created} not created (statuses ${r.statuses}), ` +
    `${r.noAd.length} whose ad did not exist 120 s after the last POST` +
    `${r.noAd.length > 0 ? ` (e.g. ${r.noAd.slice(0, 3).join(', ')})` : ''}, ${r.noProjectedAt} without projectedAt. ` +
    `The stage breakdown leaves out ${r.noStages} of the counted (created or processed record not seen by the ` +
    `bench's watcher)`
  report.section(
    `Delay 0, ${r.rate}/s (open loop; achieved ${fixed(r.sent / r.sendSeconds)}/s): POST sent → ad written (projectedAt)`,
    `${table(
      ['measure', 'count', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
      [
        [
          'POST sent → ad written',
          s.length,
          ms(s, 50),
          ms(s, 90),
          ms(s, 99),
          fixed(s.at(-1) ?? Number.NaN, 1),
        ],
        [
          'POST response alone',
          r.postMs.length,
          ms(r.postMs, 50),
          ms(r.postMs, 90),
          ms(r.postMs, 99),
          fixed(r.postMs.at(-1) ?? Number.NaN, 1),
        ],
      ],
    )}\n\n${counted}.\n\nThe same samples by bound:\n\n${table(
      ['written within', 'ads', 'share (cumulative)'],
      [
        ...BOUNDS_MS.map((bound) => {
          const n = s.filter((v) => v <= bound).length
          return [`${bound} ms`, n, `${fixed((100 * n) / Math.max(1, s.length), 1)} %`]
        }),
        ['any time', s.length, '100.0 %'],
      ],
    )}`,
  )
  report.section(
    `${r.rate}/s: where the time goes, per vehicle (ms; every stamp from this machine's clock)`,
    table(
      ['stage', 'vehicles', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'],
      Object.entries(r.stages)
        .map(([stage, list]) => [
          stage,
          list.length,
          ms(list, 50),
          ms(list, 90),
          ms(list, 99),
          fixed(list.at(-1) ?? Number.NaN, 1),
        ])
        .concat([
          [
            '(for reference) POST sent → outbox row marked sent (after the commit, pipelined)',
            r.markedMs.length,
            ms(r.markedMs, 50),
            ms(r.markedMs, 90),
            ms(r.markedMs, 99),
            fixed(r.markedMs.at(-1) ?? Number.NaN, 1),
          ],
        ]),
    ) +
      `\n\nEstimators (both): ${r.commits} transactions committed, ${fixed(r.commits / r.sendSeconds, 1)} per second of ` +
      `sending, ${fixed(r.priced / Math.max(1, r.commits), 1)} records per transaction on average, ` +
      `${fixed(r.commitMs, 1)} ms per commit on average (the loop waits for it; estimator_commit_seconds).`,
  )
  if (r.foreign > 0)
    problems.push(`${r.rate}/s: ${r.foreign} ads of other runs' events were written meanwhile`)
  if (r.created !== r.sent)
    problems.push(`${r.rate}/s: ${r.sent - r.created} POSTs were not created (${r.statuses})`)
  if (r.noAd.length > 0) problems.push(`${r.rate}/s: ${r.noAd.length} ads never appeared`)
  return percentile(s, 99)
}

/** One row per rate: the sweep at a glance. */
export function sweepTable(runs: RateResult[]): string {
  return table(
    [
      'rate /s',
      'achieved /s',
      'ads counted',
      'p50 ms',
      'p90 ms',
      'p99 ms',
      'max ms',
      ...STAGES.map((s) => `${s.split(' (')[0]} p50 / p99`),
      'commits /s',
      'records / txn',
      'commit ms (mean)',
    ],
    runs.map((r) => [
      r.rate,
      fixed(r.sent / r.sendSeconds),
      `${r.samples.length} of ${r.sent}`,
      ms(r.samples, 50),
      ms(r.samples, 90),
      ms(r.samples, 99),
      fixed(r.samples.at(-1) ?? Number.NaN, 1),
      ...STAGES.map((stage) => `${ms(r.stages[stage], 50)} / ${ms(r.stages[stage], 99)}`),
      fixed(r.commits / r.sendSeconds, 1),
      fixed(r.priced / Math.max(1, r.commits), 1),
      fixed(r.commitMs, 1),
    ]),
  )
}
