"""Throughput of the estimator against the local stack: N vehicles, a delay, K instances.

    cd estimator && .venv/bin/python scripts/bench.py --vehicles 10000 --delay 0 --instances 2

Uses the integration harness (its own topics, subjects and group, deleted afterwards) and prints one JSON
line: how long producing the input took, and how long from the first send until every vehicle was read
back priced with read_committed.
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
    args = parser.parse_args()

    env = harness.stack_env()
    brokers = env["KAFKA_BROKERS"]
    topics = harness.create_run_topics(brokers, env["SCHEMA_REGISTRY_URL"], "bench")
    estimators = harness.Estimators(env, topics)
    try:
        instances = [
            estimators.start(f"bench-{n}", ESTIMATE_DELAY_SECONDS=str(args.delay))
            for n in range(args.instances)
        ]
        for instance in instances:
            estimators.wait_ready(instance)
        estimators.wait_assignment(instances)
        _, records = created_records(topics, args.vehicles)
        with harness.committed_reader(brokers, topics.output) as reader:
            started = time.monotonic()
            harness.produce_all(harness.producer(brokers), topics.input, records)
            produced = time.monotonic() - started
            seen = harness.read_until(
                reader, lambda m: distinct_keys(m) >= args.vehicles, timeout=args.timeout
            )
            elapsed = time.monotonic() - started
        result = {
            "vehicles": args.vehicles,
            "delay_s": args.delay,
            "instances": args.instances,
            "produce_s": round(produced, 2),
            "all_priced_s": round(elapsed, 2),
            "priced": distinct_keys(seen),
            "records_read": len(seen),
            "per_s_after_delay": round(args.vehicles / max(0.001, elapsed - args.delay), 1),
        }
        sys.stdout.write(json.dumps(result) + "\n")
    finally:
        estimators.stop_all()
        harness.delete_run_topics(brokers, env["SCHEMA_REGISTRY_URL"], topics)


if __name__ == "__main__":
    main()
