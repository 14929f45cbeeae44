import { expect, test } from 'bun:test'
import { summarizePySpy } from './py-spy'

const raw = [
  '<module> (/x/src/estimator/__main__.py:10);run (/x/src/estimator/service.py:50);poll (/x/.venv/lib/site-packages/confluent_kafka/x.py:1) 6',
  '<module> (/x/src/estimator/__main__.py:10);run (/x/src/estimator/service.py:50);commit (/x/src/estimator/service.py:90) 3',
  '<module> (/x/src/estimator/__main__.py:10);decode (/x/src/estimator/serde.py:7) 1',
].join('\n')

test('leaf and inclusive samples, paths shortened to the package', () => {
  const s = summarizePySpy(raw)
  expect(s.samples).toBe(10)
  expect(s.leaf[0]).toEqual({ frame: 'poll (confluent_kafka/x.py:1)', samples: 6, share: 0.6 })
  expect(s.inclusive.map((f) => [f.frame, f.samples])).toEqual([
    ['<module> (estimator/__main__.py:10)', 10],
    ['run (estimator/service.py:50)', 9],
    ['commit (estimator/service.py:90)', 3],
    ['decode (estimator/serde.py:7)', 1],
  ])
})
