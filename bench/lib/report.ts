/**
 * Every benchmark prints one markdown report: what ran, on what machine, under what load, the table, and
 * the command that reproduces it. The same text is written to `bench/results/<name>.md` so the last run
 * can be pasted into docs/benchmarks.md as it was printed.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { formatLoad, type Load, load, machine } from './machine'

export function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.map(String).join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

export const pct = (ratio: number) => `${(ratio * 100).toFixed(0)} %`
export const fixed = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a')

export interface Report {
  /** A load reading, kept for the report (call at the start and end of each phase). */
  mark(label: string): void
  section(title: string, body: string): void
  note(line: string): void
  print(): string
}

export function createReport(name: string, command: string): Report {
  const loads: { label: string; load: Load }[] = []
  const sections: string[] = []
  const notes: string[] = []
  const started = new Date().toISOString()
  let commit = 'unknown'
  try {
    commit = Bun.spawnSync(['git', 'rev-parse', '--short', 'HEAD'], { cwd: import.meta.dir })
      .stdout.toString()
      .trim()
  } catch {
    // not a checkout: leave it unknown
  }
  return {
    mark(label) {
      loads.push({ label, load: load() })
    },
    section(title, body) {
      sections.push(`#### ${title}\n\n${body}`)
    },
    note(line) {
      notes.push(`- ${line}`)
    },
    print() {
      const text = [
        `### ${name}`,
        '',
        `Run ${started.replace('T', ' ').slice(0, 19)} UTC on ${machine()}, commit ${commit}.`,
        `Command: \`${command}\``,
        '',
        ...sections.flatMap((s) => [s, '']),
        ...(notes.length > 0 ? ['Notes:', '', ...notes, ''] : []),
        'Load average during the run:',
        '',
        table(
          ['moment', 'load 1 / 5 / 15 min'],
          loads.map((l) => [l.label, formatLoad(l.load)]),
        ),
        '',
      ].join('\n')
      console.log(`\n${text}`)
      const dir = join(import.meta.dir, '..', 'results')
      mkdirSync(dir, { recursive: true })
      writeFileSync(join(dir, `${name}.md`), text)
      return text
    },
  }
}
