import json

import pytest

from estimator.serde import Contract, Decoder, PoisonRecord, SchemaCheck, encode, validator_for
from tests.support import CREATED_FILE, PROCESSED_FILE, created_event, unwire, wire

CREATED = Contract.load(CREATED_FILE)
PROCESSED = Contract.load(PROCESSED_FILE)
KNOWN_ID = 7


def decoder(remote: dict[int, str] | None = None) -> tuple[Decoder, list[int]]:
    asked: list[int] = []

    def fetch(schema_id: int) -> str | None:
        asked.append(schema_id)
        return (remote or {}).get(schema_id)

    return Decoder(CREATED, {KNOWN_ID: CREATED.check}, fetch), asked


def reason_of(value: bytes | None, d: Decoder | None = None) -> str:
    with pytest.raises(PoisonRecord) as caught:
        (d or decoder()[0]).decode(value)
    return caught.value.reason


def test_contract_text_is_the_file_as_is() -> None:
    assert CREATED.text == CREATED_FILE.read_text()
    assert CREATED.schema["additionalProperties"] is False


def test_decodes_a_valid_record() -> None:
    event = created_event()
    assert decoder()[0].decode(wire(KNOWN_ID, event)) == event


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "tombstone"),
        (b"\x00\x00", "shorter than the 5-byte wire header"),
        (b"\x01\x00\x00\x00\x07{}", "magic byte is 1"),
        (b'{"eventId": 1}', "magic byte is 123"),
        (b"\x00\x00\x00\x00\x07not json", "payload is not JSON"),
        (b"\x00\x00\x00\x00\x07\xff\xfe", "not valid UTF-8"),
    ],
)
def test_bad_wire_format_is_poison(value: bytes | None, expected: str) -> None:
    assert expected in reason_of(value)


def test_schema_violation_names_the_field() -> None:
    event = created_event(year=1700)
    assert reason_of(wire(KNOWN_ID, event)).endswith("vehicle.year: 1700 is less than the minimum of 1886")
    extra = created_event()
    extra["vehicle"]["colour"] = "red"
    assert "vehicle: Additional properties are not allowed ('colour' was unexpected)" in reason_of(
        wire(KNOWN_ID, extra)
    )


def test_formats_are_checked_like_the_typescript_side() -> None:
    assert "eventId: 'nope' is not a 'uuid'" in reason_of(
        wire(KNOWN_ID, {**created_event(), "eventId": "nope"})
    )
    bad_time = {**created_event(), "occurredAt": "yesterday"}
    assert "occurredAt: 'yesterday' is not a 'date-time'" in reason_of(wire(KNOWN_ID, bad_time))


def test_unknown_schema_id_is_poison_and_asked_once() -> None:
    d, asked = decoder()
    assert reason_of(wire(99, created_event()), d) == "unknown schema id 99"
    assert reason_of(wire(99, created_event()), d) == "unknown schema id 99"
    assert asked == [99]


def test_another_known_id_is_fetched_cached_and_checked_against_this_contract() -> None:
    # A newer writer schema that allows an extra field: the record fits the writer, not this service.
    newer = json.loads(CREATED.text)
    newer["properties"]["vehicle"]["properties"]["colour"] = {"type": "string"}
    d, asked = decoder({42: json.dumps(newer)})
    assert d.decode(wire(42, created_event()))["vehicle"]["manufacturer"] == "Renault"
    extra = created_event()
    extra["vehicle"]["colour"] = "red"
    assert "does not fit this service's contract" in reason_of(wire(42, extra), d)
    assert asked == [42]


def test_a_schema_of_another_subject_is_refused_and_cached() -> None:
    d, asked = decoder({43: PROCESSED.text})
    expected = "written with schema 43 (urn:vehicles:event:stock.vehicle-processed)"
    assert reason_of(wire(43, created_event()), d).startswith(expected)
    assert reason_of(wire(43, created_event()), d).startswith(expected)
    assert asked == [43]


def test_encode_writes_the_wire_header_and_refuses_invalid_output() -> None:
    created = created_event()
    processed = {
        "eventId": "8d3a1c7e-3f5e-4a53-9b2c-0d6a6f1e2b11",
        "occurredAt": "2026-11-25T10:00:05.000Z",
        "causationId": created["eventId"],
        "vehicle": created["vehicle"],
        "price": {"amount": 12340, "currency": "EUR"},
        "estimatedAt": "2026-11-25T10:00:05.000Z",
    }
    schema_id, document = unwire(encode(5, PROCESSED, processed))
    assert schema_id == 5
    assert document == processed
    with pytest.raises(ValueError, match=r"price.amount: -1 is less than the minimum of 0"):
        encode(5, PROCESSED, {**processed, "price": {"amount": -1, "currency": "EUR"}})


FORMAT_CASES = json.loads((CREATED_FILE.parents[1] / "fixtures" / "format-cases.json").read_text())


@pytest.mark.parametrize("fmt", ["date-time", "uuid"])
def test_formats_judge_the_shared_cases_like_ajv(fmt: str) -> None:
    """packages/contracts/fixtures/format-cases.json: the cases both languages must judge alike."""
    validator = validator_for(
        {"$schema": "http://json-schema.org/draft-07/schema#", "type": "string", "format": fmt}
    )
    fast = SchemaCheck(
        {"$schema": "http://json-schema.org/draft-07/schema#", "type": "string", "format": fmt}
    )
    wrong = [v for v in FORMAT_CASES[fmt]["valid"] if not validator.is_valid(v)]
    wrong += [v for v in FORMAT_CASES[fmt]["invalid"] if validator.is_valid(v)]
    assert wrong == [], f"{fmt}: jsonschema judges unlike the TypeScript side: {wrong}"
    wrong = [v for v in FORMAT_CASES[fmt]["valid"] if fast.violation(v) is not None]
    wrong += [v for v in FORMAT_CASES[fmt]["invalid"] if fast.violation(v) is None]
    assert wrong == [], f"{fmt}: the compiled check judges unlike the TypeScript side: {wrong}"


@pytest.mark.parametrize(
    "change",
    [
        {"year": 1885},
        {"year": 2026.5},
        {"odometer": -1},
        {"odometerUnit": "miles"},
        {"vin": "abc"},
        {"vin": "ABCDEFGHJKLMNPRSI"},  # I is not a VIN letter
        {"manufacturer": ""},
        {"manufacturer": "   "},
        {"model": "x" * 65},
        {"createdAt": "2026-02-30T10:00:00Z"},
        {"id": "not-a-uuid"},
        {"extra": 1},
    ],
)
def test_the_compiled_check_and_jsonschema_refuse_the_same_records(change: dict[str, object]) -> None:
    event = created_event()
    event["vehicle"].update(change)
    assert not CREATED.check.violation(created_event())
    assert validator_for(CREATED.schema).is_valid(created_event())
    fast = CREATED.check.violation(event)
    assert fast is not None
    assert not validator_for(CREATED.schema).is_valid(event)
    assert fast.startswith("vehicle")  # the explanation names the field
