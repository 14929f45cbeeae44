"""Confluent wire format (magic byte 0, 4-byte big-endian schema id, JSON) checked against JSON Schema.

The schema files are the ones `packages/contracts` generates, read as they are from `CONTRACTS_DIR`. On
decode, the record's schema id must be one the registry knows (unknown ids are fetched once, then cached);
the payload is validated against that writer schema and against the contract this service was built with,
so the code below never sees a vehicle it cannot price. Every failure is a `PoisonRecord` whose reason
names the field that failed.

Validation runs twice as fast paths go: `fastjsonschema` (compiled, ~30 µs a record) decides, and only a
record it refuses is walked again by `jsonschema` for the error message that names the field (~250 µs,
which on every record capped an instance near 1,000 records/s). Both get the same format checks.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastjsonschema
from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import SchemaError
from jsonschema.exceptions import ValidationError as SchemaViolation

MAGIC_BYTE = 0
HEADER = struct.Struct(">bI")

CREATED_SCHEMA_FILE = "stock.vehicle-created-value.json"
PROCESSED_SCHEMA_FILE = "stock.vehicle-processed-value.json"


class PoisonRecord(Exception):
    """A record this service can never handle; it goes to the dead-letter topic with `reason`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _format_checker() -> FormatChecker:
    # Draft-07 has no `uuid` format in jsonschema's checker, while Ajv (the TypeScript side) checks it:
    # add it so both languages accept and refuse the same records.
    checker = FormatChecker(Draft7Validator.FORMAT_CHECKER.checkers.keys())
    checker.checkers.update(Draft7Validator.FORMAT_CHECKER.checkers)

    @checker.checks("uuid", raises=ValueError)
    def _is_uuid(value: object) -> bool:
        # The canonical 8-4-4-4-12 hex form, any case (what `str(uuid.UUID(value)) == value.lower()` says,
        # at a tenth of its cost: two uuids are checked in every record read and written).
        return not isinstance(value, str) or _UUID.fullmatch(value) is not None

    rfc3339, rfc3339_raises = checker.checkers["date-time"]

    @checker.checks("date-time", raises=rfc3339_raises)
    def _is_date_time(value: object) -> bool:
        # The RFC 3339 checker matches with `$`, which in Python also matches before a final newline, and
        # its `\d` takes any Unicode digit: the explicit ASCII shape first, as the TypeScript side does.
        if not isinstance(value, str):
            return True
        return _DATE_TIME.fullmatch(value) is not None and bool(rfc3339(value))

    return checker


_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
FORMATS = _format_checker()


def _direct(name: str) -> Callable[[str], bool]:
    """A format's check without FormatChecker.conforms around it (a third of the validation time)."""
    check, raises = FORMATS.checkers[name]

    def conforms(value: str) -> bool:
        try:
            return bool(check(value))
        except raises:
            return False

    return conforms


# The same checks for the compiled validator (it applies them to strings only, like jsonschema).
_FAST_FORMATS: dict[str, Callable[[str], bool]] = {
    name: _direct(name) for name in ("uuid", "date-time", "date", "time")
}


def validator_for(schema: dict[str, Any]) -> Draft7Validator:
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, format_checker=FORMATS)


def describe(error: SchemaViolation) -> str:
    """`vehicle.year: 1700 is less than the minimum of 1886`: the path first, so the field is named."""
    path = ".".join(str(part) for part in error.absolute_path) or "(root)"
    return f"{path}: {error.message}"


def first_violation(validator: Draft7Validator, value: object) -> str | None:
    errors = sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))
    return describe(errors[0]) if errors else None


class SchemaCheck:
    """One JSON Schema, checked fast, explained precisely."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self._explain = validator_for(schema)
        self._fast = fastjsonschema.compile(schema, formats=_FAST_FORMATS)

    def violation(self, value: object) -> str | None:
        """None when `value` is valid, else `field.path: what is wrong`."""
        try:
            self._fast(value)
        except fastjsonschema.JsonSchemaValueException as fast:
            # Should the two ever disagree, the stricter answer wins: the record is refused.
            return (
                first_violation(self._explain, value)
                or f"{(fast.name or 'data').removeprefix('data.')}: {fast.message}"
            )
        return None


@dataclass(frozen=True, slots=True)
class Contract:
    """A schema file of `packages/contracts`: its exact text (what gets compared with the registry)."""

    text: str
    schema: dict[str, Any]
    check: SchemaCheck

    @classmethod
    def load(cls, path: Path) -> Contract:
        try:
            text = path.read_text(encoding="utf-8")
            schema = json.loads(text)
            check = SchemaCheck(schema)
        except (OSError, ValueError, SchemaError, fastjsonschema.JsonSchemaDefinitionException) as error:
            raise RuntimeError(f"cannot load the contract {path}: {error}") from error
        return cls(text=text, schema=schema, check=check)


def encode(schema_id: int, contract: Contract, value: dict[str, Any]) -> bytes:
    """Wire bytes for `value`; refuses a value its own contract rejects (that would be a bug here)."""
    problem = contract.check.violation(value)
    if problem is not None:
        raise ValueError(f"refusing to produce an invalid record: {problem}")
    payload = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    return HEADER.pack(MAGIC_BYTE, schema_id) + payload


class Decoder:
    """Decodes the input topic's records. `fetch_schema` maps an id to its text, or None when unknown."""

    def __init__(
        self,
        contract: Contract,
        known: dict[int, SchemaCheck],
        fetch_schema: Callable[[int], str | None],
    ) -> None:
        self._contract = contract
        self._validators = dict(known)
        self._unknown: dict[
            int, str
        ] = {}  # id -> why it is refused; cached so poison never floods the registry
        self._fetch = fetch_schema

    def decode(self, value: bytes | None) -> dict[str, Any]:
        if value is None:
            raise PoisonRecord("record has no value (tombstone)")
        if len(value) < HEADER.size:
            raise PoisonRecord(f"record value is {len(value)} bytes, shorter than the 5-byte wire header")
        magic, schema_id = HEADER.unpack_from(value)
        if magic != MAGIC_BYTE:
            raise PoisonRecord(f"magic byte is {magic}, expected {MAGIC_BYTE} (not Confluent wire format)")
        writer = self._writer(schema_id)
        try:
            document = json.loads(value[HEADER.size :].decode("utf-8"))
        except UnicodeDecodeError:
            raise PoisonRecord("payload is not valid UTF-8") from None
        except ValueError as error:
            raise PoisonRecord(f"payload is not JSON: {error}") from None
        problem = writer.violation(document)
        if problem is not None:
            raise PoisonRecord(f"schema {schema_id} violated: {problem}")
        if writer is not self._contract.check:
            problem = self._contract.check.violation(document)
            if problem is not None:
                raise PoisonRecord(
                    f"record of schema {schema_id} does not fit this service's contract: {problem}"
                )
        if not isinstance(document, dict):
            raise PoisonRecord("payload is not a JSON object")
        return document

    def _writer(self, schema_id: int) -> SchemaCheck:
        known = self._validators.get(schema_id)
        if known is not None:
            return known
        if schema_id in self._unknown:
            raise PoisonRecord(self._unknown[schema_id])
        # An unreachable registry is not the record's fault: the fetcher waits for it (RegistryError only
        # when the process stops meanwhile), and the id is cached only once the registry has answered.
        text = self._fetch(schema_id)
        if text is None:
            self._unknown[schema_id] = f"unknown schema id {schema_id}"
            raise PoisonRecord(self._unknown[schema_id])
        try:
            schema = json.loads(text)
            validator = SchemaCheck(schema)
        except (ValueError, SchemaError, fastjsonschema.JsonSchemaDefinitionException) as error:
            raise PoisonRecord(f"schema id {schema_id} is not a usable JSON Schema: {error}") from None
        # Every version of a subject keeps its `$id` (the TypeScript serde checks the same): another `$id`
        # means a record of another subject written to this topic.
        theirs, ours = (
            schema.get("$id") if isinstance(schema, dict) else None,
            self._contract.schema.get("$id"),
        )
        if theirs != ours:
            self._unknown[schema_id] = f"written with schema {schema_id} ({theirs}), expected {ours}"
            raise PoisonRecord(self._unknown[schema_id])
        self._validators[schema_id] = validator
        return validator
