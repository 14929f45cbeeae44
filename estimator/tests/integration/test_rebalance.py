"""A partition moved to the other instance while its offsets are pending in an open transaction: the
transaction is aborted, the new owner redoes the work, and each vehicle has one processed event.

Instance a commits only every 20 s, so the records it prices sit in its open transaction with their
offsets pending. Instance b joins: the cooperative rebalance revokes some of a's partitions; a aborts
the transaction that carries them (and redoes the records of the partitions it keeps), b starts from
the committed offsets of the ones it gets.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.integration.harness import (
    Estimators,
    RunTopics,
    committed_reader,
    produce_all,
    producer,
    read_until,
    wait_for,
)
from tests.integration.test_estimator import (
    assert_exactly_once,
    assert_input_fully_committed,
    created_records,
    distinct_keys,
    tails,
)

VEHICLES = 300


def test_a_partition_moved_while_its_offsets_are_pending_is_priced_once(
    stack: dict[str, str], topics: RunTopics, estimators: Estimators, report: Callable[[str], None]
) -> None:
    brokers = stack["KAFKA_BROKERS"]
    slow = {
        "ESTIMATE_DELAY_SECONDS": "0",
        "COMMIT_INTERVAL_MS": "20000",
        "COMMIT_MAX_RECORDS": "100000",
        "TRANSACTION_TIMEOUT_MS": "60000",
    }
    a = estimators.start("a", **slow)
    estimators.wait_ready(a)
    wait_for("a to own every partition", lambda: a.metric("estimator_assigned_partitions") == 6, 60)
    events, records = created_records(topics, VEHICLES)
    with committed_reader(brokers, topics.output) as reader:
        produce_all(producer(brokers), topics.input, records)
        wait_for(
            f"a to hold all {VEHICLES} outputs in its open transaction",
            lambda: a.metric("estimator_transaction_records") == VEHICLES,
            30,
        )
        assert a.metric("estimator_transactions_total") == 0, "a committed before the rebalance"
        b = estimators.start("b", ESTIMATE_DELAY_SECONDS="0")
        moved_at = time.monotonic()
        estimators.wait_ready(b)
        estimators.wait_assignment([a, b])
        messages: list[Any] = read_until(reader, lambda m: distinct_keys(m) >= VEHICLES, timeout=90, settle=5)
        took = time.monotonic() - moved_at
    assert_exactly_once(messages, events, topics, tails([a, b]))
    aborted = [e for e in a.events("txn.aborted") if "revoked" in str(e.get("message"))]
    assert aborted, f"a did not abort the transaction carrying the revoked partitions\n{tails([a, b])}"
    by_instance = {"b": b.metric("estimator_processed_total"), "a": a.metric("estimator_processed_total")}
    report(
        f"partitions moved to b while a held {VEHICLES} outputs uncommitted: a aborted "
        f"({aborted[0].get('redo')} redone by a), {by_instance} priced, each vehicle once, {took:.1f} s"
    )
    assert_input_fully_committed(brokers, topics, timeout=60)
