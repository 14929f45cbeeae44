/**
 * Fails when a function in production code (scripts/production-files.ts) is over 80 lines. A long
 * function hides several steps behind one name; split it into named steps a reader can hold at once.
 *
 * A function's lines run from its first line to its last, closures inside it included: a 500-line
 * closure that holds a whole subsystem is exactly what this rule is for. Neither Biome nor ruff counts
 * lines per function (ruff's PLR0915 counts statements), so TypeScript is read with the compiler API
 * and Python with its own `ast` module (from the estimator's environment).
 */
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import ts from 'typescript'
import { productionFiles, repoRoot } from './production-files'

export const MAX_FUNCTION_LINES = 80

/**
 * Functions still over the limit, each to be split; the list may only shrink (an entry whose function
 * is now short enough fails the check too, so it is removed with the fix).
 */
const NOT_YET_SPLIT = new Set<string>([])

interface LongFunction {
  path: string
  line: number
  name: string
  lines: number
}

function functionName(node: ts.FunctionLikeDeclaration, source: ts.SourceFile): string {
  if (node.name !== undefined) return node.name.getText(source)
  const parent = node.parent
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent))
    return parent.name.getText(source)
  return '(anonymous)'
}

/** Every function-like node of a TypeScript file that is longer than the limit. */
export function longTypeScriptFunctions(
  path: string,
  text: string,
  limit = MAX_FUNCTION_LINES,
): LongFunction[] {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS)
  const found: LongFunction[] = []
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const fn = node as ts.FunctionLikeDeclaration
      const first = source.getLineAndCharacterOfPosition(fn.getStart(source)).line
      const last = source.getLineAndCharacterOfPosition(fn.getEnd()).line
      const lines = last - first + 1
      if (lines > limit) found.push({ path, line: first + 1, name: functionName(fn, source), lines })
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

/** The same for Python files, through `ast` (def line to last line; decorators not counted). */
function longPythonFunctions(paths: string[], limit = MAX_FUNCTION_LINES): LongFunction[] {
  if (paths.length === 0) return []
  const program = [
    'import ast, json, sys',
    'out = []',
    'for path in sys.argv[2:]:',
    '    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read(), path)):',
    '        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):',
    '            lines = node.end_lineno - node.lineno + 1',
    '            if lines > int(sys.argv[1]):',
    '                out.append({"path": path, "line": node.lineno, "name": node.name, "lines": lines})',
    'print(json.dumps(out))',
  ].join('\n')
  const python = join(repoRoot, 'estimator', '.venv', 'bin', 'python')
  const run = Bun.spawnSync([python, '-c', program, String(limit), ...paths], { cwd: repoRoot })
  if (run.exitCode !== 0) throw new Error(`reading the Python functions failed:\n${run.stderr.toString()}`)
  return JSON.parse(run.stdout.toString()) as LongFunction[]
}

if (import.meta.main) {
  const files = productionFiles()
  const measured = [
    ...files
      .filter((path) => path.endsWith('.ts'))
      .flatMap((path) => longTypeScriptFunctions(path, readFileSync(resolve(repoRoot, path), 'utf8'))),
    ...longPythonFunctions(files.filter((path) => path.endsWith('.py'))),
  ]
  const key = (f: LongFunction) => `${f.path} ${f.name}`
  const tooLong = measured.filter((f) => !NOT_YET_SPLIT.has(key(f)))
  const split = [...NOT_YET_SPLIT].filter((entry) => !measured.some((f) => key(f) === entry))
  if (split.length > 0) {
    console.error('now within the limit: remove from NOT_YET_SPLIT in scripts/function-length.ts:')
    for (const entry of split) console.error(`  ${entry}`)
    process.exit(1)
  }
  if (tooLong.length > 0) {
    console.error(`production functions over ${MAX_FUNCTION_LINES} lines (split them into named steps):`)
    for (const f of tooLong) console.error(`  ${f.path}:${f.line} ${f.name}: ${f.lines} lines`)
    process.exit(1)
  }
  const pending = NOT_YET_SPLIT.size === 0 ? '' : ` but ${NOT_YET_SPLIT.size} not yet split`
  console.log(`${files.length} production modules, no function over ${MAX_FUNCTION_LINES} lines${pending}`)
}
