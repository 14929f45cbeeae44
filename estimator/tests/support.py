"""Shared test material: sample events, the contract files, and wire-format helpers."""

from __future__ import annotations

import json
import struct
import uuid
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTRACTS_DIR = REPO_ROOT / "packages" / "contracts" / "schemas"
CREATED_FILE = CONTRACTS_DIR / "stock.vehicle-created-value.json"
PROCESSED_FILE = CONTRACTS_DIR / "stock.vehicle-processed-value.json"

VINS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def vin_for(n: int) -> str:
    chars = []
    for _ in range(17):
        chars.append(VINS[n % len(VINS)])
        n //= len(VINS)
    return "".join(chars)


def created_event(n: int = 0, **vehicle: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "vin": vin_for(n + 1),
        "manufacturer": "Renault",
        "model": "Clio",
        "year": 2015 + n % 10,
        "odometer": 10_000 * (n % 20),
        "odometerUnit": "mi" if n % 3 == 0 else "km",
        "createdAt": "2026-11-25T10:00:00.000Z",
    }
    body.update(vehicle)
    return {"eventId": str(uuid.uuid4()), "occurredAt": "2026-11-25T10:00:00.000Z", "vehicle": body}


def wire(schema_id: int, document: object) -> bytes:
    return struct.pack(">bI", 0, schema_id) + json.dumps(document).encode()


def unwire(value: bytes) -> tuple[int, dict[str, Any]]:
    magic, schema_id = struct.unpack_from(">bI", value)
    assert magic == 0
    return schema_id, json.loads(value[5:])
