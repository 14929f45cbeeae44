"""Throughput of the estimator against the local stack: N vehicles, a delay, K instances.

    cd estimator && .venv/bin/python scripts/bench.py --vehicles 10000 --delay 0 --instances 2

Uses the integration harness (its own topics, subjects and group, deleted afterwards) and prints one JSON
line: how long producing the input took, how long from the first send until every vehicle was read back
priced with read_committed, when the first and the last price were produced (the output records' create
time), and per vehicle how much later than its due time (input written + delay) it was priced
(`beyond_delay_ms`: the estimator's own share, whatever the input rate).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.integration import harness  # after the path tweak: this script is not installed
from tests.integration.test_estimator import created_records, distinct_keys


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vehicles", type=int, default=10_000)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="extra setting of the instances"
    )
    args = parser.parse_args()

    env = harness.stack_env()
    brokers = env["KAFKA_BROKERS"]
    topics = harness.create_run_topics(brokers, env["SCHEMA_REGISTRY_URL"], "bench")
    estimators = harness.Estimators(env, topics)
    try:
        instances = [
            estimators.start(
                f"bench-{n}",
                ESTIMATE_DELAY_SECONDS=str(args.delay),
                **dict(item.split("=", 1) for item in args.env),
            )
            for n in range(args.instances)
        ]
        for instance in instances:
            estimators.wait_ready(instance)
        estimators.wait_assignment(instances)
        _, records = created_records(topics, args.vehicles)
        sent_at: dict[bytes, float] = {}
        with harness.committed_reader(brokers, topics.output) as reader:
            started = time.monotonic()
            wall_start = time.time()
            sender = harness.producer(brokers)
            for key, value, headers in records:
                assert key is not None
                sent_at[key] = time.time()  # the input's create time is taken in produce(), right after
                wire_headers: list[tuple[str, str | bytes | None]] = list(headers)
                while True:
                    try:
                        sender.produce(topics.input, key=key, value=value, headers=wire_headers)
                        break
                    except BufferError:
                        sender.poll(0.05)
                sender.poll(0)
            assert sender.flush(30) == 0, "input not delivered"
            produced = time.monotonic() - started
            seen = harness.read_until(
                reader, lambda m: distinct_keys(m) >= args.vehicles, timeout=args.timeout
            )
            elapsed = time.monotonic() - started
        priced_at = {m.key(): m.timestamp()[1] / 1000 for m in seen}
        beyond = sorted(
            (at - sent_at[key] - args.delay) * 1000 for key, at in priced_at.items() if key in sent_at
        )
        result = {
            "vehicles": args.vehicles,
            "delay_s": args.delay,
            "instances": args.instances,
            "env": args.env,
            "produce_s": round(produced, 2),
            "all_priced_s": round(elapsed, 2),
            "priced": distinct_keys(seen),
            "records_read": len(seen),
            "per_s_after_delay": round(args.vehicles / max(0.001, elapsed - args.delay), 1),
            "first_priced_s": round(min(priced_at.values()) - wall_start, 2),
            "last_priced_s": round(max(priced_at.values()) - wall_start, 2),
            "beyond_delay_ms": {
                "p50": round(beyond[len(beyond) // 2], 1),
                "p99": round(beyond[int(len(beyond) * 0.99)], 1),
                "max": round(beyond[-1], 1),
            },
        }
        sys.stdout.write(json.dumps(result) + "\n")
    finally:
        estimators.stop_all()
        harness.delete_run_topics(brokers, env["SCHEMA_REGISTRY_URL"], topics)


if __name__ == "__main__":
    main()
