"""The loop writes the same bytes for a record it sees again (a replay, a redelivery after an abort)."""

from __future__ import annotations

from typing import cast

from tests.support import created_event, wire
from tests.test_service import DLQ, IN, IN_ID, OUT, build, turn_until


def test_a_record_replayed_into_the_topic_is_answered_with_the_same_bytes() -> None:
    estimator, consumer, producer, _ = build()
    consumer.assign_now([(IN, 0)])
    event = created_event(2)
    value = wire(IN_ID, event)
    for _ in range(3):  # the same bytes appended three times, as kcat would
        consumer.push(IN, 0, event["vehicle"]["id"].encode(), value)
    turn_until(estimator, lambda: len(producer.committed) == 3)
    answers = {cast(bytes, record.value) for record in producer.committed if record.topic == OUT}
    assert len(answers) == 1
    assert {dict(record.headers)["event-id"] for record in producer.committed} == {
        dict(producer.committed[0].headers)["event-id"]
    }


def test_a_created_event_whose_time_cannot_be_read_is_dead_lettered() -> None:
    estimator, consumer, producer, _ = build()
    consumer.assign_now([(IN, 0)])
    bad = {**created_event(), "occurredAt": "9999-12-31T23:59:59-01:00"}  # valid, past year 9999 in UTC
    consumer.push(IN, 0, b"k", wire(IN_ID, bad))
    turn_until(estimator, lambda: producer.offsets.get((IN, 0)) == 1)
    dead = [record for record in producer.committed if record.topic == DLQ]
    assert len(dead) == 1
    assert dict(dead[0].headers)["dlq-reason"].startswith(b"occurredAt: '9999-12-31T23:59:59-01:00'")
