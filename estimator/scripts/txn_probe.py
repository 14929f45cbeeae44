"""What one small Kafka transaction costs on the local stack, step by step, as the estimator makes them.

    cd estimator && .venv/bin/python scripts/txn_probe.py --transactions 200 --records 1
    cd estimator && .venv/bin/python scripts/txn_probe.py --producer retry.backoff.ms=100 --gap-ms 0

Each transaction: begin, produce `--records` records (one partition each, round robin over 6), send an
offset of a probe group (AddOffsetsToTxn + TxnOffsetCommit, as the estimator's commit does), commit
(flush + EndTxn). A read_committed consumer in another thread stamps when each record becomes readable
(after the commit markers are written). Prints one JSON line with p50/p90/p99/max per step, and how long
after commit_transaction returned the records were readable. Topics are created for the run and deleted.

`--no-offsets` leaves out the offsets (begin, produce, commit: the stock relay's transaction).
`--producer KEY=VALUE` overrides a producer setting (repeatable); `--gap-ms` waits between transactions
(0: back to back, as the estimator under load; 20: as at 50 records a second).
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from tests.integration import harness  # after the path tweak: this script is not installed

from estimator.config import Settings
from estimator.kafka import consumer_config, producer_config


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {}

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.999) - 1))], 1)

    return {"p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": round(ordered[-1], 1)}


def main() -> None:
    parser = harness.script_parser(__doc__)
    parser.add_argument("--transactions", type=int, default=200)
    parser.add_argument("--records", type=int, default=1)
    parser.add_argument("--gap-ms", type=float, default=20.0)
    parser.add_argument("--producer", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument(
        "--rotate",
        type=int,
        default=1,
        help="transactional ids used in turn (each transaction on the next producer)",
    )
    parser.add_argument(
        "--no-offsets", action="store_true", help="produce and commit only, as the stock relay does"
    )
    args = parser.parse_args()

    env = harness.stack_env()
    brokers = env["KAFKA_BROKERS"]
    run = uuid.uuid4().hex[:8]
    topic = f"probe-{run}"
    admin = AdminClient({"bootstrap.servers": brokers})
    spec = NewTopic(topic, 6, 3, config={"min.insync.replicas": "2"})
    for future in admin.create_topics([spec]).values():
        future.result(30)
    settings = Settings(  # type: ignore[call-arg]
        kafka_brokers=brokers,
        schema_registry_url=env["SCHEMA_REGISTRY_URL"],
        group_id=f"probe-{run}",
        instance_id="1",
        transactional_ids=args.rotate,
    )
    overrides = dict(item.partition("=")[::2] for item in args.producer)
    producers = []
    for index in range(args.rotate):  # the estimator's own ids and settings (kafka.py)
        rotated = Producer({**producer_config(settings, index), **overrides})
        rotated.init_transactions(30)
        producers.append(rotated)
    offsets_consumer = Consumer({**consumer_config(settings), "group.id": f"probe-{run}"})
    offsets_consumer.subscribe([topic])
    offsets_consumer.poll(3)  # joins: send_offsets needs the group metadata

    readable: dict[str, float] = {}
    stop = threading.Event()

    def watch() -> None:
        reader = Consumer(
            {
                **consumer_config(settings),
                "group.id": f"probe-{run}-reader",
                "auto.offset.reset": "latest",
            }
        )
        reader.subscribe([topic])
        while not stop.is_set():
            message = reader.poll(0.05)
            if message is not None and message.error() is None and message.key() is not None:
                readable[bytes(message.key() or b"").decode()] = time.monotonic()
        reader.close()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    time.sleep(5)  # the reader's group joins and fixes its start (latest)
    steps: dict[str, list[float]] = {"begin+produce": [], "send_offsets": [], "commit": [], "total": []}
    committed_at: dict[str, float] = {}
    partition = 0
    for n in range(args.transactions):
        producer = producers[n % len(producers)]
        t0 = time.monotonic()
        producer.begin_transaction()
        keys = []
        for r in range(args.records):
            key = f"{n}-{r}"
            keys.append(key)
            producer.produce(topic, key=key.encode(), value=b"x" * 200, partition=partition % 6)
            partition += 1
        producer.poll(0)
        t1 = time.monotonic()
        if not args.no_offsets:
            producer.send_offsets_to_transaction(
                [TopicPartition(topic, n % 6, n + 1)], offsets_consumer.consumer_group_metadata(), 10
            )
        t2 = time.monotonic()
        producer.commit_transaction(10)
        t3 = time.monotonic()
        for key in keys:
            committed_at[key] = t3
        steps["begin+produce"].append((t1 - t0) * 1000)
        steps["send_offsets"].append((t2 - t1) * 1000)
        steps["commit"].append((t3 - t2) * 1000)
        steps["total"].append((t3 - t0) * 1000)
        if args.gap_ms > 0:
            time.sleep(args.gap_ms / 1000)
    time.sleep(3)
    stop.set()
    watcher.join(5)
    after_commit = [(readable[k] - committed_at[k]) * 1000 for k in committed_at if k in readable]
    sys.stdout.write(
        json.dumps(
            {
                "transactions": args.transactions,
                "records": args.records,
                "gap_ms": args.gap_ms,
                "producer": args.producer,
                **{f"{name}_ms": percentiles(values) for name, values in steps.items()},
                "readable_after_commit_ms": percentiles(after_commit),
                "seen": len(after_commit),
            }
        )
        + "\n"
    )
    offsets_consumer.close()
    for future in admin.delete_topics([topic]).values():
        future.result(30)


if __name__ == "__main__":
    main()
