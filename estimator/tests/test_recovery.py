"""The loop when Kafka fails under it (fakes): every failure class ends in a committed, exactly-once
result or a non-zero exit, retries are bounded in time, a stop request is honoured, and work of
partitions the instance no longer owns is never published."""

from __future__ import annotations

import threading
import time
from typing import cast

import pytest
from confluent_kafka import KafkaError, Producer

from estimator.service import Estimator, FatalKafkaError
from tests.fakes import FakeConsumer, FakeProducer, Produced
from tests.test_service import IN, OUT, build, build_with_health, push_events, turn_until


def keys(records: list[Produced]) -> list[str]:
    return sorted(r.key.decode() for r in records)


def test_unknown_topic_at_produce_aborts_and_redoes_instead_of_exiting() -> None:
    # What price-estimate-2 died of after every broker was away: metadata lost, produce() refuses.
    estimator, consumer, producer, _, health = build_with_health()
    consumer.assign_now([(IN, 0)])
    events = push_events(consumer, 0, 4)
    producer.produce_errors = [
        KafkaError(KafkaError._UNKNOWN_TOPIC, "Unable to produce message: Unknown topic")
    ]
    estimator.turn()  # raised to the top before: exit 1
    assert producer.aborts == 1
    assert OUT in producer.metadata_requests  # librdkafka would refuse the topic for minutes otherwise
    turn_until(estimator, lambda: producer.offsets.get((IN, 0)) == 4)
    assert keys(producer.committed) == sorted(e["vehicle"]["id"] for e in events)
    assert health.ready


def test_a_produce_failing_mid_transaction_aborts_what_was_produced() -> None:
    estimator, consumer, producer, _ = build()
    consumer.assign_now([(IN, 0)])
    events = push_events(consumer, 0, 5)
    original = producer.produce
    calls = [0]

    def third_fails(*args: object, **kwargs: object) -> None:
        calls[0] += 1
        if calls[0] == 3:
            producer.produce_errors = [KafkaError(KafkaError._TRANSPORT, "Broker transport failure")]
        original(*args, **kwargs)  # type: ignore[arg-type]

    producer.produce = third_fails  # type: ignore[method-assign]
    turn_until(estimator, lambda: producer.offsets.get((IN, 0)) == 5)
    assert producer.aborts == 1  # the two produced before the failure were aborted with it
    assert keys(producer.committed) == sorted(e["vehicle"]["id"] for e in events)


def test_a_failed_delivery_aborts_at_once_and_redoes() -> None:
    estimator, consumer, producer, _ = build(commit_interval_ms=60_000)
    consumer.assign_now([(IN, 0)])
    events = push_events(consumer, 0, 3)
    producer.delivery_errors = [KafkaError(KafkaError._MSG_TIMED_OUT, "Message timed out")]
    estimator.turn()  # produces, the report arrives in poll(): abort without waiting for the interval
    assert producer.aborts == 1
    assert producer.committed == []
    # Redone after the back-off; with a 60 s interval the commit comes from a full transaction or shutdown.
    time.sleep(0.3)
    estimator.turn()
    estimator.shutdown()
    assert keys(producer.committed) == sorted(e["vehicle"]["id"] for e in events)
    assert producer.offsets == {(IN, 0): 3}


def test_purged_records_of_our_own_abort_are_not_a_new_failure() -> None:
    estimator, consumer, producer, _ = build()
    consumer.assign_now([(IN, 0)])
    push_events(consumer, 0, 2)
    producer.delivery_errors = [KafkaError(KafkaError._PURGE_QUEUE, "Purged in queue")]
    turn_until(estimator, lambda: producer.offsets.get((IN, 0)) == 2)
    assert producer.aborts == 0


def test_offsets_are_sent_with_the_current_group_generation() -> None:
    # The broker refuses offsets of an old generation (ILLEGAL_GENERATION, abortable); the metadata is
    # read again for every send, so a rebalance that kept this partition here does not block it forever.
    estimator, consumer, producer, _ = build(estimate_delay_seconds=0.2)
    producer.current_group = consumer.consumer_group_metadata
    consumer.assign_now([(IN, 0), (IN, 1)])
    events = push_events(consumer, 0, 3)
    estimator.turn()
    consumer.revoke_now([(IN, 1)])  # a rebalance: generation 2, partition 0 stays
    turn_until(estimator, lambda: producer.offsets.get((IN, 0)) == 3)
    assert producer.aborts == 0
    assert keys(producer.committed) == sorted(e["vehicle"]["id"] for e in events)


def test_an_illegal_generation_aborts_and_the_next_transaction_succeeds() -> None:
    estimator, consumer, producer, _ = build()
    consumer.assign_now([(IN, 0)])
    events = push_events(consumer, 0, 3)
    producer.current_group = lambda: "generation-0"  # the group moved on, the consumer has not heard yet
    original = producer.abort_transaction

    def abort_and_catch_up(timeout: float) -> None:
        original(timeout)
        producer.current_group = consumer.consumer_group_metadata  # the consumer rejoined meanwhile

    producer.abort_transaction = abort_and_catch_up  # type: ignore[method-assign]
    turn_until(estimator, lambda: producer.offsets.get((IN, 0)) == 3)
    assert producer.aborts == 1
    assert keys(producer.committed) == sorted(e["vehicle"]["id"] for e in events)


def test_lost_partitions_work_in_the_open_transaction_is_not_published() -> None:
    estimator, consumer, producer, _ = build(commit_interval_ms=60_000)
    consumer.assign_now([(IN, 0), (IN, 1)])
    kept = push_events(consumer, 0, 2)
    push_events(consumer, 1, 3)
    estimator.turn()
    assert len(producer.open) == 5  # produced, not committed
    consumer.lose_now([(IN, 1)])  # the session timed out: another member may own partition 1 already
    assert producer.aborts == 1
    time.sleep(0.3)  # the back-off
    estimator.turn()
    estimator.shutdown()
    assert keys(producer.committed) == sorted(e["vehicle"]["id"] for e in kept)
    assert (IN, 1) not in producer.offsets


def test_records_fetched_for_a_partition_no_longer_owned_are_ignored() -> None:
    estimator, consumer, _, _ = build(estimate_delay_seconds=60)
    consumer.assign_now([(IN, 0), (IN, 1)])
    estimator.turn()
    consumer.revoke_now([(IN, 1)])
    # A record of partition 1 that was already in the fetch queue when the partition moved.
    consumer.assigned.append((IN, 1))
    push_events(consumer, 1, 1)
    estimator.turn()
    assert estimator.in_flight == 0


def test_an_abort_that_cannot_reach_kafka_is_resumed_while_the_loop_keeps_polling() -> None:
    estimator, consumer, producer, _, health = build_with_health(transaction_timeout_ms=1_000)
    consumer.assign_now([(IN, 0)])
    events = push_events(consumer, 0, 3)
    producer.commit_errors = [
        KafkaError(KafkaError.ILLEGAL_GENERATION, "generation id is not valid", txn_requires_abort=True)
    ]
    producer.time_out_aborts = 1_000  # every broker away: the abort does not go through
    turn_until(estimator, lambda: producer.under_way == "abort_transaction" and not health.ready)
    polls = len(consumer.asked)
    started = time.monotonic()
    for _ in range(5):
        estimator.turn()  # each turn resumes the abort once and goes on polling
    assert time.monotonic() - started < 1.0
    assert len(consumer.asked) == polls + 5
    assert producer.begun == 1  # no new transaction while the abort is under way
    producer.time_out_aborts = 0  # the brokers are back
    turn_until(estimator, lambda: producer.offsets.get((IN, 0)) == 3)
    assert producer.aborts == 1
    assert producer.conflicts == 0
    assert keys(producer.committed) == sorted(e["vehicle"]["id"] for e in events)
    assert health.ready


def _stuck_commit_while_kafka_answers() -> tuple[Estimator, FakeConsumer, FakeProducer, list[float]]:
    """A commit that times out through a long outage and then stays stuck although the consumer hears
    from Kafka again: what a producer that retired every broker it knew looks like."""
    estimator, consumer, producer, _ = build(transaction_timeout_ms=600_000)
    estimator._txn_budget = 0.25
    now = [1_000.0]

    def ticking() -> float:  # each reading moves a little, as a real clock does
        now[0] += 0.01
        return now[0]

    estimator._clock = ticking
    consumer.assign_now([(IN, 0)])
    push_events(consumer, 0, 1)
    producer.time_out_commits = 1_000_000
    consumer.brokers_down = True
    estimator.turn()  # produces
    now[0] += 1
    estimator.turn()  # commits: times out, stays under way
    assert producer.under_way == "commit_transaction"
    now[0] += 120
    estimator.turn()  # a long outage alone is no reason to exit
    consumer.brokers_down = False
    now[0] += 5  # probes are 5 s apart
    estimator.turn()  # its metadata probe answers: from now on the commit is stuck, not waiting
    assert consumer.probes >= 2
    now[0] += 10
    estimator.turn()  # stuck for 10 s: still resumed
    return estimator, consumer, producer, now


def test_a_call_stuck_while_kafka_answers_stops_the_process_without_a_new_producer() -> None:
    estimator, _, producer, now = _stuck_commit_while_kafka_answers()
    now[0] += 6
    with pytest.raises(FatalKafkaError, match="stuck"):
        estimator.turn()
    assert producer.committed == []


def test_a_producer_stuck_while_kafka_answers_is_replaced_and_its_records_redone() -> None:
    # Seen after `stack down`/`stack up`: the producer had no broker left and refused everything for
    # minutes, and the process exited through the watchdog. Now a new producer with the same id takes
    # over (init_transactions fences the old one and aborts its transaction) and the work goes on.
    estimator, _, stuck, now = _stuck_commit_while_kafka_answers()
    fresh = FakeProducer()
    estimator._new_producer = lambda _slot: cast(Producer, fresh)
    now[0] += 6
    estimator.turn()  # stuck 16 s: replaced
    assert stuck.purged
    assert estimator._retired == [cast(Producer, stuck)]
    turn_until(estimator, lambda: fresh.offsets.get((IN, 0)) == 1)
    assert fresh.inits == 1
    assert len(fresh.committed) == 1
    assert stuck.committed == []


def test_a_transaction_older_than_its_timeout_stops_the_process_once_kafka_answers() -> None:
    # The coordinator aborted it by its timeout and bumped the epoch: every call would be fenced (some
    # hung instead), so the instance restarts at once rather than after the watchdog.
    estimator, consumer, producer, _ = build(transaction_timeout_ms=1_000)
    consumer.assign_now([(IN, 0)])
    push_events(consumer, 0, 1)
    producer.time_out_commits = 1_000
    consumer.brokers_down = True
    turn_until(estimator, lambda: producer.under_way == "commit_transaction")
    time.sleep(1.1)
    with pytest.raises(FatalKafkaError, match=r"past transaction\.timeout\.ms"):
        turn_until(estimator, lambda: False, seconds=8.0)


def test_a_stop_request_ends_the_retries_at_once() -> None:
    estimator, consumer, producer, _ = build(transaction_timeout_ms=60_000, shutdown_grace_seconds=0.5)
    stop = threading.Event()
    estimator._stop = stop  # what run() sets
    consumer.assign_now([(IN, 0)])
    push_events(consumer, 0, 2)
    producer.time_out_commits = 1_000
    producer.time_out_aborts = 1_000
    threading.Timer(0.3, stop.set).start()
    started = time.monotonic()
    estimator.turn()  # would retry the commit for 15 s
    estimator.shutdown()
    assert time.monotonic() - started < 2.0
    assert consumer.closed
    assert producer.committed == []


@pytest.mark.parametrize(
    "error",
    [
        KafkaError(KafkaError._FENCED, "fenced by a newer instance", fatal=True),
        KafkaError(KafkaError.PRODUCER_FENCED, "producer fenced"),
    ],
)
def test_a_fenced_producer_stops_the_process(error: KafkaError) -> None:
    estimator, consumer, producer, _ = build()
    consumer.assign_now([(IN, 0)])
    push_events(consumer, 0, 1)
    producer.commit_errors = [error]
    with pytest.raises(FatalKafkaError):
        turn_until(estimator, lambda: False, seconds=2.0)
    assert [r for r in producer.committed if r.topic == OUT] == []
