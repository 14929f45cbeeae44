"""The `stock.vehicle-processed` event answering one `stock.vehicle-created` event: a pure function of the
created event (and the configured delay), so processing the same record again writes the same bytes.

A created record can be processed more than once: the relay may send an event again, a transaction may
abort after its records were priced, a rebalance hands a partition's unfinished work to the other
instance, someone replays the topic. Were the answer made of a fresh random id, a fresh random price
and the wall clock, each re-run would be a different fact downstream (a second price for one vehicle).
So every field is derived from the input:

- `eventId` = UUIDv5(`PROCESSED_EVENT_NAMESPACE`, created `eventId`): the same created event always gets
  the same answer id, and answers to different created events never share one;
- the price is drawn from a generator seeded by SHA-256 of the created event id: spread across vehicles
  like a random draw, identical on every re-run (Mersenne Twister's `random()` sequence for a given
  integer seed is stable across Python versions);
- `estimatedAt` and `occurredAt` = the created event's `occurredAt` plus `ESTIMATE_DELAY_SECONDS`: the
  moment the estimate was due, not the moment this process happened to produce it. The model year's
  age is counted from the created event's year for the same reason.

The namespace is fixed for good: changing it would give every vehicle a second answer id on the next
replay. It is documented in estimator/README.md.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast

from .pricing import estimate_price

PROCESSED_EVENT_TYPE = "stock.vehicle-processed"
PROCESSED_EVENT_NAMESPACE = uuid.UUID("5df37d68-4d79-4333-abef-2a259f84f492")


class UnreadableTime(ValueError):
    """The created event's `occurredAt` passed the schema but is not a time this code can add to."""


def processed_event_id(created_event_id: str) -> str:
    return str(uuid.uuid5(PROCESSED_EVENT_NAMESPACE, created_event_id.lower()))


def price_seed(created_event_id: str) -> int:
    digest = hashlib.sha256(b"price-estimate/price/" + created_event_id.lower().encode()).digest()
    return int.from_bytes(digest[:8], "big")


def due_time(created: dict[str, Any], delay_seconds: float) -> datetime:
    """When the estimate was due: the created event's `occurredAt` plus the delay, in UTC."""
    text = str(created["occurredAt"])
    try:
        occurred = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError as error:
        raise UnreadableTime(f"occurredAt: '{text}' cannot be read as a time ({error})") from None
    if occurred.tzinfo is None:
        raise UnreadableTime(f"occurredAt: '{text}' has no time zone")
    try:
        return occurred.astimezone(UTC) + timedelta(seconds=delay_seconds)
    except OverflowError:
        raise UnreadableTime(f"occurredAt: '{text}' plus the delay is out of range") from None


def iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def processed_event(created: dict[str, Any], delay_seconds: float) -> dict[str, Any]:
    """The answer to `created`; the same `created` and delay always give the same dict (same key order)."""
    at = due_time(created, delay_seconds)
    stamp = iso(at)
    vehicle = created["vehicle"]
    price = estimate_price(
        year=int(vehicle["year"]),
        odometer=int(vehicle["odometer"]),
        unit=cast(Literal["km", "mi"], vehicle["odometerUnit"]),
        current_year=at.year,
        rng=random.Random(price_seed(created["eventId"])),
    )
    return {
        "eventId": processed_event_id(created["eventId"]),
        "occurredAt": stamp,
        "causationId": created["eventId"],
        "vehicle": vehicle,
        "price": {"amount": price.amount, "currency": price.currency},
        "estimatedAt": stamp,
    }
