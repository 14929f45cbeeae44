"""The loop against in-memory Kafka fakes: transactions, offsets, DLQ, aborts, rebalance, back-pressure."""

from __future__ import annotations

import time
from typing import Any, cast

from confluent_kafka import Consumer, Producer

from estimator.config import Settings
from estimator.health import Health, Metrics
from estimator.kafka import producer_config
from estimator.serde import Contract, Decoder
from estimator.service import Estimator
from tests.fakes import FakeConsumer, FakeProducer
from tests.support import CONTRACTS_DIR, CREATED_FILE, PROCESSED_FILE, created_event, unwire, wire

IN = "stock.vehicle-created"
OUT = "stock.vehicle-processed"
DLQ = "stock.vehicle-created.dlq"
IN_ID, OUT_ID = 11, 12
CREATED = Contract.load(CREATED_FILE)
PROCESSED = Contract.load(PROCESSED_FILE)


def settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "kafka_brokers": "127.0.0.1:1",
        "schema_registry_url": "http://127.0.0.1:1",
        "contracts_dir": CONTRACTS_DIR,
        "instance_id": "test",
        "estimate_delay_seconds": 0,
        "commit_interval_ms": 1,
        "transactional_ids": 1,  # one fake producer holds every transaction; test_rotation.py has several
    }
    base.update(overrides)
    return Settings(**base)


def build(**overrides: Any) -> tuple[Estimator, FakeConsumer, FakeProducer, Metrics]:
    estimator, consumer, producer, metrics, _ = build_with_health(**overrides)
    return estimator, consumer, producer, metrics


def build_with_health(**overrides: Any) -> tuple[Estimator, FakeConsumer, FakeProducer, Metrics, Health]:
    consumer, producer, metrics, health = FakeConsumer(), FakeProducer(), Metrics(), Health()
    decoder = Decoder(CREATED, {IN_ID: CREATED.check}, lambda _id: None)
    estimator = Estimator(
        settings(**overrides),
        cast(Consumer, consumer),
        [cast(Producer, producer)],
        decoder,
        PROCESSED,
        OUT_ID,
        metrics,
        health,
    )
    estimator.start()
    return estimator, consumer, producer, metrics, health


def push_events(consumer: FakeConsumer, partition: int, count: int) -> list[dict[str, Any]]:
    events = [created_event(n) for n in range(count)]
    for event in events:
        consumer.push(
            IN, partition, event["vehicle"]["id"].encode(), wire(IN_ID, event), _headers=[("event-id", b"x")]
        )
    return events


def turn_until(estimator: Estimator, done: Any, seconds: float = 3.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "condition not reached in time"
        estimator.turn()


def test_prices_every_vehicle_and_commits_outputs_with_offsets() -> None:
    estimator, consumer, producer, metrics = build()
    consumer.assign_now([(IN, 0), (IN, 1)])
    events = push_events(consumer, 0, 5) + push_events(consumer, 1, 3)
    turn_until(estimator, lambda: len(producer.committed) == 8 and estimator.in_flight == 0)
    estimator.turn()
    assert producer.offsets == {(IN, 0): 5, (IN, 1): 3}
    by_vehicle = {record.key.decode(): record for record in producer.committed}
    for event in events:
        record = by_vehicle[event["vehicle"]["id"]]
        assert record.topic == OUT
        schema_id, processed = unwire(cast(bytes, record.value))
        assert schema_id == OUT_ID
        assert processed["causationId"] == event["eventId"]
        assert processed["vehicle"] == event["vehicle"]
        assert processed["price"]["currency"] == "EUR"
        assert processed["price"]["amount"] > 0
        headers = dict(record.headers)
        assert headers["event-id"] == processed["eventId"].encode()
        assert headers["event-type"] == b"stock.vehicle-processed"
        assert headers["content-type"] == b"application/json"
    assert metrics.processed._value.get() == 8
    # Each commit the loop made is timed (estimator_commit_seconds), one observation per transaction.
    timed = metrics.registry.get_sample_value("estimator_commit_seconds_count")
    committed = metrics.registry.get_sample_value("estimator_transactions_total", {"outcome": "committed"})
    assert committed is not None
    assert committed >= 1
    assert timed == committed


def test_the_producer_retries_a_refused_transactional_request_after_10_ms() -> None:
    # The coordinator refuses each commit's AddOffsetsToTxn while it writes the transaction's
    # AddPartitionsToTxn; librdkafka's default 100 ms back-off was most of every commit.
    assert producer_config(settings())["retry.backoff.ms"] == 10


def test_each_vehicle_waits_its_delay_and_the_window_keeps_polling() -> None:
    estimator, consumer, producer, _ = build(estimate_delay_seconds=0.3)
    consumer.assign_now([(IN, 0)])
    push_events(consumer, 0, 3)
    started = time.monotonic()
    estimator.turn()
    estimator.turn()
    assert estimator.in_flight == 3
    push_events(consumer, 0, 2)  # arrives while the first ones wait: still fetched
    estimator.turn()
    assert estimator.in_flight == 5
    assert producer.committed == []
    turn_until(estimator, lambda: len(producer.committed) == 5)
    assert time.monotonic() - started >= 0.3


def test_poison_goes_to_the_dlq_in_the_transaction_and_the_partition_moves_on() -> None:
    estimator, consumer, producer, metrics = build()
    consumer.assign_now([(IN, 0)])
    push_events(consumer, 0, 1)
    consumer.push(IN, 0, b"k-bad", b"\x07garbage", _headers=[("event-id", b"e-1")])
    consumer.push(IN, 0, None, wire(999, created_event()))
    push_events(consumer, 0, 1)
    turn_until(estimator, lambda: producer.offsets.get((IN, 0)) == 4)
    dead = [r for r in producer.committed if r.topic == DLQ]
    assert [r.key for r in dead] == [b"k-bad", f"{IN}/0/2".encode()]
    first = dict(dead[0].headers)
    assert dead[0].value == b"\x07garbage"
    assert first["event-id"] == b"e-1"  # original headers kept
    assert first["dlq-reason"].startswith(b"magic byte is 7")
    assert first["dlq-source-topic"] == IN.encode()
    assert first["dlq-source-partition"] == b"0"
    assert first["dlq-source-offset"] == b"1"
    assert dict(dead[1].headers)["dlq-reason"] == b"unknown schema id 999"
    assert len([r for r in producer.committed if r.topic == OUT]) == 2
    assert sum(s.value for m in metrics.dlq.collect() for s in m.samples if s.name.endswith("_total")) == 2


def test_an_aborted_transaction_is_redone_exactly_once() -> None:
    estimator, consumer, producer, metrics = build()
    producer.fail_next_commits = 2
    consumer.assign_now([(IN, 0)])
    events = push_events(consumer, 0, 6)
    turn_until(estimator, lambda: producer.offsets.get((IN, 0)) == 6)
    assert producer.aborts == 2
    keys = sorted(r.key.decode() for r in producer.committed)
    assert keys == sorted(e["vehicle"]["id"] for e in events)
    assert metrics.processed._value.get() == 6


def test_timeouts_are_retried_and_readiness_follows_kafka() -> None:
    estimator, consumer, producer, _, health = build_with_health()
    consumer.assign_now([(IN, 0)])
    push_events(consumer, 0, 3)
    producer.time_out_next_calls = 2  # two commit attempts time out, the third succeeds
    readiness: list[bool] = []
    original = producer.commit_transaction

    def watching(timeout: float) -> None:
        readiness.append(health.ready)
        original(timeout)

    producer.commit_transaction = watching  # type: ignore[method-assign]
    turn_until(estimator, lambda: producer.offsets.get((IN, 0)) == 3)
    assert readiness == [True, False, False]  # not ready while Kafka does not answer
    assert health.ready
    assert producer.aborts == 0
    assert len(producer.committed) == 3


def test_a_commit_that_keeps_timing_out_is_resumed_until_it_finishes() -> None:
    # transaction.timeout.ms 1 s: the first attempt may block a quarter of it; after that the commit stays
    # under way and is resumed once per turn (librdkafka refuses an abort meanwhile: _CONFLICT).
    estimator, consumer, producer, _ = build(transaction_timeout_ms=1_000)
    consumer.assign_now([(IN, 0)])
    events = push_events(consumer, 0, 3)
    producer.time_out_commits = 1_000
    started = time.monotonic()
    turn_until(estimator, lambda: producer.begun == 1 and producer.under_way == "commit_transaction")
    assert time.monotonic() - started < 1.0  # bounded by the budget (0.25 s)
    polls = len(consumer.asked)
    for _ in range(5):
        estimator.turn()
    assert len(consumer.asked) == polls + 5  # the consumer keeps polling
    assert producer.begun == 1  # nothing new while the commit is under way
    producer.time_out_commits = 0  # Kafka answers again
    turn_until(estimator, lambda: producer.offsets.get((IN, 0)) == 3)
    assert producer.aborts == 0
    assert producer.conflicts == 0
    assert sorted(r.key.decode() for r in producer.committed) == sorted(e["vehicle"]["id"] for e in events)


def test_revoked_partitions_drop_their_waiting_work_after_committing_the_finished() -> None:
    estimator, consumer, producer, _ = build(estimate_delay_seconds=60)
    consumer.assign_now([(IN, 0), (IN, 1)])
    push_events(consumer, 0, 4)
    estimator.turn()
    assert estimator.in_flight == 4
    consumer.revoke_now([(IN, 0)])
    assert estimator.in_flight == 0
    estimator.turn()
    assert producer.committed == []
    assert (IN, 0) not in producer.offsets  # never commits offsets of work it did not finish


def test_a_full_window_pauses_fetching_then_resumes() -> None:
    estimator, consumer, producer, metrics = build(max_in_flight=4, estimate_delay_seconds=0.2)
    consumer.assign_now([(IN, 0)])
    push_events(consumer, 0, 10)
    estimator.turn()
    estimator.turn()
    assert estimator.in_flight == 4
    assert (IN, 0) in consumer.paused
    assert metrics.paused._value.get() == 1
    turn_until(estimator, lambda: producer.offsets.get((IN, 0)) == 10)
    assert max(consumer.asked) <= 4
    assert (IN, 0) not in consumer.paused


def test_shutdown_finishes_what_is_due_within_grace_and_abandons_the_rest() -> None:
    estimator, consumer, producer, _ = build(estimate_delay_seconds=2, shutdown_grace_seconds=0.5)
    consumer.assign_now([(IN, 0), (IN, 1)])
    # The delay counts from when a record was written: these were written 1.8 s ago, so are due in 0.2 s.
    written = int(time.time() * 1000) - 1_800
    for event in (created_event(n) for n in range(3)):
        consumer.push(IN, 0, event["vehicle"]["id"].encode(), wire(IN_ID, event), _timestamp_ms=written)
    push_events(consumer, 1, 1)  # due in 2 s: after the grace period
    estimator.turn()
    assert estimator.in_flight == 4
    started = time.monotonic()
    estimator.shutdown()
    assert time.monotonic() - started < 0.5
    assert consumer.closed
    assert producer.offsets == {(IN, 0): 3}
    assert len(producer.committed) == 3


def test_an_idle_instance_probes_kafka_to_become_ready_again() -> None:
    now = [1000.0]
    consumer, producer, health = FakeConsumer(), FakeProducer(), Health()
    estimator = Estimator(
        settings(),
        cast(Consumer, consumer),
        [cast(Producer, producer)],
        Decoder(CREATED, {IN_ID: CREATED.check}, lambda _id: None),
        PROCESSED,
        OUT_ID,
        Metrics(),
        health,
        clock=lambda: now[0],
    )
    estimator.start()
    estimator.turn()
    estimator._kafka_unavailable("all brokers down")  # what a consumer error or a timed-out commit does
    assert not health.ready
    assert health.reason == "kafka unavailable: all brokers down"
    estimator.turn()
    assert consumer.probes == 0  # probes are spaced out
    now[0] += 6
    estimator.turn()
    assert consumer.probes == 1
    assert health.ready


def test_shutdown_with_kafka_gone_still_closes_and_commits_nothing() -> None:
    # A long commit interval: the first turn only produces, whatever the machine's load.
    estimator, consumer, producer, _ = build(shutdown_grace_seconds=0.5, commit_interval_ms=60_000)
    consumer.assign_now([(IN, 0)])
    push_events(consumer, 0, 2)
    estimator.turn()
    producer.time_out_next_calls = 1_000  # every commit and abort times out
    estimator.shutdown()  # does not raise: the broker will abort the open transaction
    assert consumer.closed
    assert producer.committed == []
    assert producer.offsets == {}
