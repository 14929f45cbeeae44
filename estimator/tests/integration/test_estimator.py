"""The estimator as processes against the real stack (three Kafka brokers, registries behind nginx):
throughput with two instances, exactly once through kill -9, dead letters, shutdown, and refusal to start
on missing schemas.

Each test owns its topics, subjects and group (see `harness.py`); failures print what was seen and the
instances' log tails.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from estimator.serde import Contract, Decoder, PoisonRecord
from tests.integration.harness import (
    Estimators,
    Instance,
    RunTopics,
    committed_reader,
    delete_subject,
    end_offsets,
    produce_all,
    producer,
    read_until,
    register,
    wait_for,
)
from tests.murmur2 import partition_of
from tests.support import PROCESSED_FILE, created_event, wire

PROCESSED = Contract.load(PROCESSED_FILE)

Record = tuple[bytes | None, bytes, list[tuple[str, bytes]]]


def created_records(topics: RunTopics, count: int) -> tuple[list[dict[str, Any]], list[Record]]:
    events = [created_event(n) for n in range(count)]
    records: list[Record] = [
        (
            e["vehicle"]["id"].encode(),
            wire(topics.input_id, e),
            [
                ("event-id", e["eventId"].encode()),
                ("event-type", b"stock.vehicle-created"),
                ("content-type", b"application/json"),
            ],
        )
        for e in events
    ]
    return events, records


def distinct_keys(messages: list[Any]) -> int:
    return len({m.key() for m in messages})


def assert_exactly_once(
    messages: list[Any], events: list[dict[str, Any]], topics: RunTopics, logs: str = ""
) -> None:
    decoder = Decoder(PROCESSED, {topics.output_id: PROCESSED.check}, lambda _id: None)
    counts = Counter(m.key().decode() for m in messages)
    expected = {e["vehicle"]["id"]: e for e in events}
    duplicated = {k: c for k, c in counts.items() if c > 1}
    missing = [k for k in expected if k not in counts]
    unexpected = [k for k in counts if k not in expected]
    assert (duplicated, missing, unexpected) == ({}, [], []), (
        f"read {len(messages)} processed records for {len(expected)} vehicles: "
        f"{len(duplicated)} duplicated (e.g. {list(duplicated.items())[:3]}), {len(missing)} missing "
        f"(e.g. {missing[:3]}), {len(unexpected)} unexpected\n{logs}"
    )
    for message in messages:
        try:
            processed = decoder.decode(message.value())
        except PoisonRecord as error:
            raise AssertionError(f"processed record does not decode: {error.reason}") from None
        created = expected[message.key().decode()]
        assert processed["causationId"] == created["eventId"]
        assert processed["vehicle"] == created["vehicle"]
        assert processed["price"]["currency"] == "EUR"
        # The Java-compatible partitioner: the same partition any other producer of the system picks.
        assert message.partition() == partition_of(message.key(), 6), "not murmur2's partition"
        headers = dict(message.headers() or [])
        assert headers["event-id"] == processed["eventId"].encode()
        assert headers["event-type"] == b"stock.vehicle-processed"


def assert_input_fully_committed(brokers: str, topics: RunTopics, timeout: float = 30) -> None:
    def caught_up() -> bool:
        committed, highs = end_offsets(brokers, topics.input, topics.group)
        return all(committed.get(p, -1) >= high for p, high in highs.items() if high > 0)

    try:
        wait_for("the group's committed offsets to reach the end of the input", caught_up, timeout)
    except AssertionError as error:
        committed, highs = end_offsets(brokers, topics.input, topics.group)
        raise AssertionError(f"{error}; committed={committed} high={highs}") from None


def tails(instances: list[Instance]) -> str:
    return "\n".join(f"--- {i.name} (exit {i.process.poll()}) ---\n{i.log_tail(25)}" for i in instances)


def test_two_instances_price_1000_vehicles_within_15_seconds_exactly_once(
    stack: dict[str, str], topics: RunTopics, estimators: Estimators, report: Callable[[str], None]
) -> None:
    brokers = stack["KAFKA_BROKERS"]
    a, b = estimators.start("a"), estimators.start("b")
    estimators.wait_ready(a)
    estimators.wait_ready(b)
    estimators.wait_assignment([a, b])
    events, records = created_records(topics, 1000)
    with committed_reader(brokers, topics.output) as reader:
        started = time.monotonic()
        produce_all(producer(brokers), topics.input, records)
        produced_in = time.monotonic() - started
        seen: dict[str, float] = {}

        def all_priced(messages: list[Any]) -> bool:
            if distinct_keys(messages) >= 1000 and "all" not in seen:
                seen["all"] = time.monotonic() - started
            return "all" in seen

        messages = read_until(reader, all_priced, timeout=30, settle=3)
    elapsed = seen.get("all")
    assert elapsed is not None, (
        f"only {distinct_keys(messages)} of 1000 vehicles priced in 30 s\n{tails([a, b])}"
    )
    assert_exactly_once(messages, events, topics, tails([a, b]))
    report(
        f"1000 vehicles, 5 s delay, 2 instances: input produced in {produced_in:.2f} s, "
        f"all priced {elapsed:.2f} s after the first send"
    )
    assert elapsed <= 15, f"1000 vehicles took {elapsed:.1f} s"
    assert a.metric("estimator_processed_total") > 0
    assert b.metric("estimator_processed_total") > 0
    assert a.metric("estimator_processed_total") + b.metric("estimator_processed_total") == 1000
    assert_input_fully_committed(brokers, topics)


@pytest.mark.parametrize("restart", [True, False], ids=["restarted", "survivor-takes-over"])
def test_kill_9_mid_way_loses_and_duplicates_nothing(
    stack: dict[str, str],
    topics: RunTopics,
    estimators: Estimators,
    restart: bool,
    report: Callable[[str], None],
) -> None:
    brokers = stack["KAFKA_BROKERS"]
    a, b = estimators.start("a"), estimators.start("b")
    estimators.wait_ready(a)
    estimators.wait_ready(b)
    estimators.wait_assignment([a, b])
    events, records = created_records(topics, 1000)
    p = producer(brokers)
    with committed_reader(brokers, topics.output) as reader:
        # Spread the input over ~3 s so outputs stream out over several transactions when the kill lands.
        for start in range(0, 1000, 100):
            produce_all(p, topics.input, records[start : start + 100])
            time.sleep(0.3)
        early = read_until(reader, lambda m: distinct_keys(m) >= 100, timeout=20)
        assert distinct_keys(early) >= 100, f"nothing priced before the kill\n{tails([a, b])}"
        # Mid-way: a has committed some prices and still has vehicles waiting (and a transaction going).
        wait_for(
            "a to have committed some prices and still have work in flight",
            lambda: a.metric("estimator_processed_total") > 0 and a.metric("estimator_in_flight") > 0,
            5,
        )
        in_flight_at_kill = a.metric("estimator_in_flight")
        estimators.kill9(a)
        killed_at = time.monotonic()
        if restart:
            estimators.wait_ready(estimators.start("a"))  # same INSTANCE_ID: fences the dead transaction
        rest = read_until(reader, lambda m: distinct_keys(early + m) >= 1000, timeout=90, settle=5)
        recovered = time.monotonic() - killed_at
    instances = estimators.instances
    assert_exactly_once(early + rest, events, topics, tails(instances))
    how = "restarted" if restart else "no restart"
    report(
        f"kill -9 ({how}) with {in_flight_at_kill:.0f} vehicles in flight: all 1000 priced "
        f"{recovered:.1f} s after the kill, none duplicated"
    )
    assert_input_fully_committed(brokers, topics, timeout=60)


def test_poison_records_go_to_the_dlq_and_the_partition_moves_on(
    stack: dict[str, str], topics: RunTopics, estimators: Estimators
) -> None:
    brokers = stack["KAFKA_BROKERS"]
    instance = estimators.start("solo", ESTIMATE_DELAY_SECONDS="0")
    estimators.wait_ready(instance)
    good_before, good_after = created_event(1), created_event(2)
    violating = created_event(3, year=1700)
    origin = [("event-id", b"poison-1"), ("event-type", b"stock.vehicle-created")]
    records: list[Record] = [
        (b"v-1", wire(topics.input_id, good_before), origin),
        (b"v-2", b"\x07not wire format", origin),
        (b"v-3", wire(2_000_000_000, good_before), origin),
        (b"v-4", wire(topics.input_id, violating), origin),
        (b"v-5", wire(topics.input_id, good_before)[:5] + b"{not json", origin),
        (None, b"\x00", []),
        (b"v-7", wire(topics.input_id, good_after), origin),
    ]
    produce_all(producer(brokers), topics.input, records, partition=0)
    with committed_reader(brokers, topics.dlq) as reader:
        dead = read_until(reader, lambda m: len(m) >= 5, timeout=30, settle=2)
    with committed_reader(brokers, topics.output) as reader:
        priced = read_until(reader, lambda m: len(m) >= 2, timeout=30, settle=1)
    logs = tails([instance])
    assert len(dead) == 5, f"{len(dead)} dead letters: {[m.headers() for m in dead]}\n{logs}"
    by_offset = {int(dict(m.headers())["dlq-source-offset"]): m for m in dead}
    assert sorted(by_offset) == [1, 2, 3, 4, 5]
    reasons = {offset: dict(m.headers())["dlq-reason"].decode() for offset, m in by_offset.items()}
    assert reasons[1].startswith("magic byte is 7")
    assert reasons[2] == "unknown schema id 2000000000"
    assert "vehicle.year: 1700 is less than the minimum of 1886" in reasons[3]
    assert reasons[4].startswith("payload is not JSON")
    assert "shorter than the 5-byte wire header" in reasons[5]
    for offset, message in by_offset.items():
        headers = dict(message.headers())
        assert headers["dlq-source-topic"] == topics.input.encode()
        assert headers["dlq-source-partition"] == b"0"
        original_key, original_value, original_headers = records[offset]
        assert message.value() == original_value
        assert message.key() == (original_key or f"{topics.input}/0/{offset}".encode())
        for name, value in original_headers:
            assert headers[name] == value
    priced_ids = sorted(m.key().decode() for m in priced)
    assert priced_ids == sorted([good_before["vehicle"]["id"], good_after["vehicle"]["id"]]), logs
    committed, _ = end_offsets(brokers, topics.input, topics.group)
    assert committed[0] == 7, f"partition 0 committed at {committed[0]}, not past the poison\n{logs}"
    assert instance.metric("estimator_dlq_total") == 5

    def partition_0_lag() -> float | None:
        for line in instance.http("/metrics")[1].splitlines():
            if line.startswith("estimator_consumer_lag{") and 'partition="0"' in line:
                return float(line.rsplit(" ", 1)[1])
        return None

    # Lag is the high watermark minus the committed offset: 0 once everything is committed.
    wait_for("partition 0's lag to be reported as 0", lambda: partition_0_lag() == 0, 15)


def test_sigterm_finishes_in_flight_work_within_grace_and_exits_0(
    stack: dict[str, str], topics: RunTopics, estimators: Estimators
) -> None:
    brokers = stack["KAFKA_BROKERS"]
    instance = estimators.start("solo", ESTIMATE_DELAY_SECONDS="3", SHUTDOWN_GRACE_SECONDS="10")
    estimators.wait_ready(instance)
    estimators.wait_assignment([instance])
    events, records = created_records(topics, 50)
    produce_all(producer(brokers), topics.input, records)
    wait_for("the records to be in flight", lambda: instance.metric("estimator_in_flight") == 50, 10)
    instance.process.send_signal(signal.SIGTERM)
    code = instance.process.wait(15)
    assert code == 0, tails([instance])
    with committed_reader(brokers, topics.output) as reader:
        messages = read_until(reader, lambda m: distinct_keys(m) >= 50, timeout=20, settle=1)
    assert_exactly_once(messages, events, topics, tails([instance]))
    committed, highs = end_offsets(brokers, topics.input, topics.group)
    assert all(committed.get(p, -1) >= h for p, h in highs.items() if h > 0), (committed, highs)


def test_refuses_to_start_when_its_schema_is_not_registered(
    stack: dict[str, str], topics: RunTopics, estimators: Estimators
) -> None:
    instance = estimators.start("unregistered", INPUT_TOPIC=f"{topics.run}.not-registered")
    code = instance.process.wait(60)
    assert code == 3, tails([instance])
    refused = instance.events("schemas.refused")
    assert refused, tails([instance])
    assert f"subject '{topics.run}.not-registered-value' is not registered" in refused[0]["message"]


def test_refuses_to_start_when_a_topic_is_missing(
    stack: dict[str, str], topics: RunTopics, estimators: Estimators
) -> None:
    absent = f"{topics.run}.absent"
    # The subject exists (so the schema check passes); the topic does not.
    register(stack["SCHEMA_REGISTRY_URL"], f"{absent}-value", PROCESSED_FILE.read_text())
    try:
        instance = estimators.start("no-topic", OUTPUT_TOPIC=absent)
        code = instance.process.wait(60)
        assert code == 4, tails([instance])
        assert absent in instance.events("topics.missing")[0]["message"]
    finally:
        delete_subject(stack["SCHEMA_REGISTRY_URL"], f"{absent}-value")
