import { expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { CONFLUENT_KAFKA_WHEEL_VERSION, LIBRDKAFKA_VERSION, libraryPath, loadedVersion } from './library'

const repo = join(import.meta.dir, '..', '..', '..', '..')

test('the module loads the librdkafka of the confluent-kafka release the estimator pins', () => {
  const pyproject = readFileSync(join(repo, 'estimator', 'pyproject.toml'), 'utf8')
  expect(/"confluent-kafka==([0-9.]+)"/.exec(pyproject)?.[1]).toBe(CONFLUENT_KAFKA_WHEEL_VERSION)
  // Not a leftover of another release: the file bootstrap put in place is the one loaded.
  expect(libraryPath()).toContain(process.env.LIBRDKAFKA_PATH ? '' : CONFLUENT_KAFKA_WHEEL_VERSION)
  expect(loadedVersion()).toBe(LIBRDKAFKA_VERSION)
})
