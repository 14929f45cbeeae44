"""A restarted instance fences every transactional id of its rotation (`TRANSACTIONAL_IDS`), against the real
stack: producers of an earlier session of the same instance, one per id `<group>-<instance>-<k>`, each with
an open transaction holding an output record, can no longer commit once the instance has started, their
records never become readable with read_committed, and the instance prices what it is sent exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaException, Producer

from estimator.txn import Action, classify, error_of
from tests.integration.harness import (
    Estimators,
    RunTopics,
    committed_reader,
    produce_all,
    producer,
    read_until,
)
from tests.integration.test_estimator import assert_exactly_once, created_records, distinct_keys, tails

IDS = 4


def _zombie(brokers: str, transactional_id: str, topic: str) -> Producer:
    """A producer of the previous session with this id, its transaction open and its record written."""
    zombie = Producer(
        {
            "bootstrap.servers": brokers,
            "transactional.id": transactional_id,
            "transaction.timeout.ms": 60_000,  # longer than the test: only fencing can end it in time
            "partitioner": "murmur2_random",
        }
    )
    zombie.init_transactions(30)
    zombie.begin_transaction()
    zombie.produce(topic, key=f"zombie-{transactional_id}".encode(), value=b"not a processed event")
    assert zombie.flush(30) == 0  # written: its partition is part of the open transaction
    return zombie


def test_a_restarted_instance_fences_every_id_of_its_previous_session(
    stack: dict[str, str], topics: RunTopics, estimators: Estimators, report: Callable[[str], None]
) -> None:
    brokers = stack["KAFKA_BROKERS"]
    ids = [f"{topics.group}-a-{k}" for k in range(IDS)]
    zombies = [_zombie(brokers, transactional_id, topics.output) for transactional_id in ids]
    started = time.monotonic()
    a = estimators.start("a", TRANSACTIONAL_IDS=str(IDS), ESTIMATE_DELAY_SECONDS="0")
    estimators.wait_ready(a)
    ready_in = time.monotonic() - started
    for transactional_id, zombie in zip(ids, zombies, strict=True):
        try:
            zombie.commit_transaction(30)
        except KafkaException as failure:
            error = error_of(failure)
            assert classify(error) is Action.FATAL, f"{transactional_id}: {error.str()}"
        else:
            raise AssertionError(f"the old producer of {transactional_id} committed after the restart")
    estimators.wait_assignment([a])
    events, records = created_records(topics, 200)
    with committed_reader(brokers, topics.output) as reader:
        produce_all(producer(brokers), topics.input, records)
        messages: list[Any] = read_until(reader, lambda m: distinct_keys(m) >= 200, timeout=60, settle=3)
    # No zombie record among them (assert_exactly_once refuses keys that are not vehicles).
    assert_exactly_once(messages, events, topics, tails([a]))
    report(
        f"restart with {IDS} transactional ids, each with an open transaction of the old session: ready "
        f"in {ready_in:.1f} s, every old producer fenced, 200 vehicles priced exactly once"
    )
