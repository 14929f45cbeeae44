/**
 * Loaded before every `bun test` run (bunfig.toml). A plain `bun test` at the root runs the unit suites
 * only (bunfig's pathIgnorePatterns leaves out the `*.int.test.ts` files, which need the local stack): say
 * so at the end, with the command that runs them. `bun run test` names those files itself and sets
 * VEHICLES_TEST_STEP, so the note is not repeated there.
 */
import { afterAll } from 'bun:test'

const namesStackSuites = process.argv.some((arg) => arg.includes('.int.test'))
if (process.env.VEHICLES_TEST_STEP === undefined && !namesStackSuites) {
  afterAll(() => {
    console.error(
      '\nbun test: unit suites only. The suites that need the local stack (*.int.test.ts: integration, ' +
        'end-to-end, faults) run with `bash scripts/test.sh` (or `bun run test` once bootstrapped).',
    )
  })
}
