"""Rebalances against the open transaction (fakes): a transaction carrying work of a partition that is
revoked or lost never commits; the work is redone by whoever owns the partition, exactly once."""

from __future__ import annotations

import time

from tests.fakes import Produced
from tests.test_service import IN, build, push_events, turn_until


def keys(records: list[Produced]) -> list[str]:
    return sorted(r.key.decode() for r in records)


def test_a_revoked_partition_with_work_in_the_open_transaction_aborts_it() -> None:
    estimator, consumer, producer, _ = build(commit_interval_ms=60_000)
    consumer.assign_now([(IN, 0), (IN, 1)])
    kept = push_events(consumer, 0, 2)
    push_events(consumer, 1, 3)
    estimator.turn()
    assert len(producer.open) == 5  # produced, not committed
    consumer.revoke_now([(IN, 1)])
    assert (producer.aborts, producer.commits) == (1, 0)
    time.sleep(0.3)  # the back-off
    estimator.turn()
    estimator.shutdown()
    # Partition 0's records were redone once; partition 1's are left to its new owner.
    assert keys(producer.committed) == sorted(e["vehicle"]["id"] for e in kept)
    assert producer.offsets == {(IN, 0): 2}


def test_a_pending_send_offsets_of_a_revoked_partition_ends_in_an_abort_not_a_commit() -> None:
    # The hole: send_offsets times out carrying partition 1's offsets; the partition moves; resumed later
    # with the new generation's metadata the call succeeds, and a commit would publish offsets (and
    # outputs) of a partition the other instance is already redoing.
    estimator, consumer, producer, _ = build(transaction_timeout_ms=4_000)  # 1 s commit budget
    producer.current_group = consumer.consumer_group_metadata
    producer.time_out_send_offsets = 1_000  # every broker away for now
    consumer.assign_now([(IN, 0), (IN, 1)])
    kept = push_events(consumer, 0, 2)
    push_events(consumer, 1, 3)
    turn_until(estimator, lambda: producer.under_way == "send_offsets_to_transaction")
    assert producer.open_offsets == {(IN, 0): 2, (IN, 1): 3}
    consumer.revoke_now([(IN, 1)])  # tries the pending call within the budget: still timing out
    assert producer.under_way == "send_offsets_to_transaction"
    producer.time_out_send_offsets = 0  # Kafka answers: the resumed call goes through in generation 2
    turn_until(estimator, lambda: producer.offsets.get((IN, 0)) == 2, seconds=5)
    assert producer.aborts == 1
    assert (IN, 1) not in producer.offsets
    assert keys(producer.committed) == sorted(e["vehicle"]["id"] for e in kept)


def test_a_pending_send_offsets_of_a_lost_partition_ends_in_an_abort() -> None:
    estimator, consumer, producer, _ = build(transaction_timeout_ms=4_000)
    producer.time_out_send_offsets = 1_000
    consumer.assign_now([(IN, 0), (IN, 1)])
    kept = push_events(consumer, 0, 1)
    push_events(consumer, 1, 2)
    turn_until(estimator, lambda: producer.under_way == "send_offsets_to_transaction")
    consumer.lose_now([(IN, 1)])
    producer.time_out_send_offsets = 0
    turn_until(estimator, lambda: producer.offsets.get((IN, 0)) == 1, seconds=5)
    assert producer.aborts == 1
    assert (IN, 1) not in producer.offsets
    assert keys(producer.committed) == sorted(e["vehicle"]["id"] for e in kept)


def test_a_commit_under_way_when_a_partition_is_revoked_is_finished_not_aborted() -> None:
    # Its offsets were sent while this instance owned the partition: committing them is consistent, and
    # librdkafka would refuse an abort until the commit call is made again anyway.
    estimator, consumer, producer, _ = build(transaction_timeout_ms=4_000)
    producer.time_out_commits = 1_000
    consumer.assign_now([(IN, 0), (IN, 1)])
    events = push_events(consumer, 0, 1) + push_events(consumer, 1, 2)
    turn_until(estimator, lambda: producer.under_way == "commit_transaction")
    consumer.revoke_now([(IN, 1)])
    assert producer.under_way == "commit_transaction"
    producer.time_out_commits = 0
    turn_until(estimator, lambda: producer.commits == 1)
    assert (producer.commits, producer.aborts, producer.conflicts) == (1, 0, 0)
    assert producer.offsets == {(IN, 0): 1, (IN, 1): 2}
    assert keys(producer.committed) == sorted(e["vehicle"]["id"] for e in events)


def test_a_revoke_that_the_open_transaction_does_not_touch_leaves_it_alone() -> None:
    estimator, consumer, producer, _ = build(commit_interval_ms=60_000, estimate_delay_seconds=0)
    consumer.assign_now([(IN, 0), (IN, 1)])
    kept = push_events(consumer, 0, 2)
    estimator.turn()
    assert len(producer.open) == 2
    consumer.revoke_now([(IN, 1)])
    assert producer.aborts == 0
    estimator.shutdown()
    assert keys(producer.committed) == sorted(e["vehicle"]["id"] for e in kept)
    assert producer.offsets == {(IN, 0): 2}
