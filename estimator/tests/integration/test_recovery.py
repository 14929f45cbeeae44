"""Kafka behaviour behind the all-brokers-down fault, against the real stack: an instance that wakes up
after the group moved on without it must not publish the work of partitions it lost, nor stall on its
old group generation.

A process frozen (SIGSTOP) past its session timeout is what every member looks like to the group
coordinator after a cluster outage: its partitions go to the other member and the generation moves on.
When it resumes, its open transaction carries outputs and offsets of partitions it no longer owns, and its
offsets are sent with the old generation (the broker answers ILLEGAL_GENERATION): it must abort, drop that
work, rejoin, and go on with a fresh generation, so every vehicle is priced exactly once.
"""

from __future__ import annotations

import signal
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

SESSION_MS = 6_000


def test_an_instance_frozen_past_its_session_drops_lost_work_and_recovers(
    stack: dict[str, str], topics: RunTopics, estimators: Estimators, report: Callable[[str], None]
) -> None:
    brokers = stack["KAFKA_BROKERS"]
    settings = {"SESSION_TIMEOUT_MS": str(SESSION_MS), "ESTIMATE_DELAY_SECONDS": "4"}
    a, b = estimators.start("a", **settings), estimators.start("b", **settings)
    estimators.wait_ready(a)
    estimators.wait_ready(b)
    estimators.wait_assignment([a, b])
    events, records = created_records(topics, 600)
    p = producer(brokers)
    with committed_reader(brokers, topics.output) as reader:
        produce_all(p, topics.input, records[:300])
        wait_for("a to hold vehicles in flight", lambda: a.metric("estimator_in_flight") > 0, 10)
        frozen_with = a.metric("estimator_in_flight")
        a.process.send_signal(signal.SIGSTOP)
        frozen_at = time.monotonic()
        try:
            produce_all(p, topics.input, records[300:])  # more work while a is away
            # b takes a's partitions once a's session has expired, then prices everything.
            wait_for(
                "b to own every partition",
                lambda: b.metric("estimator_assigned_partitions") == 6,
                SESSION_MS / 1000 + 20,
            )
        finally:
            a.process.send_signal(signal.SIGCONT)
        messages: list[Any] = read_until(reader, lambda m: distinct_keys(m) >= 600, timeout=90, settle=8)
        recovered = time.monotonic() - frozen_at
    assert_exactly_once(messages, events, topics, tails([a, b]))
    # a woke up with a transaction of partitions it lost: it stayed up and went back to work.
    assert a.alive(), f"a exited after it resumed\n{tails([a, b])}"
    wait_for("a to be ready again", lambda: a.http("/health/ready")[0] == 200, 30)
    lost = a.events("partitions.lost") + a.events("partitions.revoked")
    assert lost, f"a never heard its partitions had moved\n{tails([a, b])}"
    report(
        f"instance frozen past its session with {frozen_with:.0f} vehicles in flight: all 600 priced "
        f"{recovered:.1f} s after the freeze, none duplicated, it rejoined without exiting"
    )
    estimators.wait_assignment([a, b])
    assert_input_fully_committed(brokers, topics, timeout=60)
