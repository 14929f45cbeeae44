"""Throughput of the estimator against the local stack: N vehicles, a delay, K instances.

    cd estimator && .venv/bin/python scripts/bench.py --vehicles 10000 --delay 0 --instances 2

Uses the integration harness (its own topics, subjects and group, deleted afterwards) and prints one JSON
line: how long producing the input took, how long from the first send until every vehicle was read back
priced with read_committed, when the first and the last price were produced (the output records' create
time), and per vehicle how much later than its due time (input written + delay) it was priced
(`beyond_delay_ms`: the estimator's own share, whatever the input rate).

`--rate N` sends the vehicles at N a second (open loop) instead of all at once, and adds `readable_ms`:
per vehicle, from its send to its processed record being received by a read_committed reader polled
between sends (the estimator's fetch, pricing and transaction commit; the reader's own fetch included):

    cd estimator && .venv/bin/python scripts/bench.py --vehicles 1000 --delay 0 --instances 1 --rate 50
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from confluent_kafka import Consumer
from tests.integration import harness  # after the path tweak: this script is not installed
from tests.integration.test_estimator import created_records, distinct_keys


def main() -> None:
    parser = harness.script_parser(__doc__)
    parser.add_argument("--vehicles", type=int, default=10_000)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--rate", type=float, default=0.0, help="vehicles a second (0: all at once)")
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
            read_at: dict[bytes, float] = {}
            early: list[Any] = []
            for n, (key, value, headers) in enumerate(records):
                assert key is not None
                if args.rate > 0:
                    _read_while_waiting(reader, read_at, early, started + n / args.rate)
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
            if args.rate > 0:
                deadline = time.monotonic() + args.timeout
                while len(read_at) < args.vehicles and time.monotonic() < deadline:
                    _read_while_waiting(reader, read_at, early, time.monotonic() + 0.5)
                seen = early
            else:
                seen = harness.read_until(
                    reader, lambda m: distinct_keys(m) >= args.vehicles, timeout=args.timeout
                )
            elapsed = time.monotonic() - started
        priced_at = {m.key(): m.timestamp()[1] / 1000 for m in seen}
        beyond = sorted(
            (at - sent_at[key] - args.delay) * 1000 for key, at in priced_at.items() if key in sent_at
        )
        readable = sorted((read_at[k] - sent_at[k]) * 1000 for k in read_at if k in sent_at)
        result: dict[str, object] = {
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
        if readable:
            result["rate"] = args.rate
            result["readable_ms"] = {
                "count": len(readable),
                "p50": round(readable[len(readable) // 2], 1),
                "p90": round(readable[int(len(readable) * 0.9)], 1),
                "p99": round(readable[int(len(readable) * 0.99)], 1),
                "max": round(readable[-1], 1),
            }
        sys.stdout.write(json.dumps(result) + "\n")
    finally:
        estimators.stop_all()
        harness.delete_run_topics(brokers, env["SCHEMA_REGISTRY_URL"], topics)


def _read_while_waiting(
    reader: Consumer, read_at: dict[bytes, float], messages: list[Any], until: float
) -> None:
    """Polls the read_committed reader until the monotonic moment `until`, noting when each key arrives."""
    while (left := until - time.monotonic()) > 0:
        message = reader.poll(min(left, 0.05))
        if message is not None and message.error() is None:
            messages.append(message)
            key = message.key()
            if isinstance(key, bytes):
                read_at.setdefault(key, time.time())


if __name__ == "__main__":
    main()
