"""The processed event is a pure function of the created event and the delay: re-runs write the same bytes."""

from __future__ import annotations

import uuid

import pytest

from estimator.processed import (
    PROCESSED_EVENT_NAMESPACE,
    UnreadableTime,
    processed_event,
    processed_event_id,
)
from estimator.serde import Contract, encode
from tests.support import PROCESSED_FILE, created_event

PROCESSED = Contract.load(PROCESSED_FILE)


def test_the_same_created_event_always_gets_the_same_bytes() -> None:
    created = created_event(3)
    first = encode(7, PROCESSED, processed_event(created, 30))
    again = encode(7, PROCESSED, processed_event(dict(created), 30))
    assert first == again


def test_the_event_id_is_uuid5_of_the_created_event_id_in_the_fixed_namespace() -> None:
    created = created_event()
    event = processed_event(created, 0)
    assert event["eventId"] == str(uuid.uuid5(PROCESSED_EVENT_NAMESPACE, created["eventId"]))
    assert uuid.UUID(event["eventId"]).version == 5
    assert event["causationId"] == created["eventId"]
    # Written in upper case by some producer, the same event still gets the same answer id.
    assert processed_event_id(created["eventId"].upper()) == event["eventId"]


def test_times_come_from_the_created_event_plus_the_delay_not_the_clock() -> None:
    created = {**created_event(), "occurredAt": "2026-11-25T11:59:50.123+02:00"}
    event = processed_event(created, 30)
    assert event["estimatedAt"] == "2026-11-25T10:00:20.123Z"
    assert event["occurredAt"] == event["estimatedAt"]
    assert processed_event(created, 0)["estimatedAt"] == "2026-11-25T09:59:50.123Z"


def test_prices_still_vary_across_vehicles_of_identical_description() -> None:
    # Same vehicle description, different created events: the seed differs, so the prices spread.
    prices = {
        processed_event(created_event(0, year=2020, odometer=50_000), 0)["price"]["amount"] for _ in range(50)
    }
    assert len(prices) > 40


def test_an_unreadable_time_is_refused_with_the_field_named() -> None:
    with pytest.raises(UnreadableTime, match="occurredAt"):
        processed_event({**created_event(), "occurredAt": "2026-13-45T00:00:00Z"}, 0)
    with pytest.raises(UnreadableTime, match="no time zone"):
        processed_event({**created_event(), "occurredAt": "2026-11-25T10:00:00"}, 0)
