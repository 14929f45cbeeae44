"""Interop with the TypeScript contracts package: the same wire bytes mean the same event in both languages.

A created event encoded by `@vehicles/contracts` (as vehicles-stock writes it) is decoded here, and a
processed event encoded here (as the estimator writes it) is decoded by `@vehicles/contracts` (as
vehicles-ads reads it), both bound to this run's registered subjects.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from estimator.processed import processed_event
from estimator.serde import Contract, Decoder, encode
from tests.integration.harness import RunTopics
from tests.support import CREATED_FILE, PROCESSED_FILE, REPO_ROOT, created_event

SCRIPT = Path(__file__).with_name("interop.ts")


def test_typescript_and_python_serdes_read_each_other(stack: dict[str, str], topics: RunTopics) -> None:
    bun = shutil.which("bun")
    assert bun is not None, "bun is not on PATH"
    created_contract, processed_contract = Contract.load(CREATED_FILE), Contract.load(PROCESSED_FILE)
    created = created_event(4, odometerUnit="mi")
    processed = processed_event(created, 5.0)
    request = {
        "registryUrl": stack["SCHEMA_REGISTRY_URL"],
        "createdSubject": f"{topics.input}-value",
        "processedSubject": f"{topics.output}-value",
        "created": created,
        "processedHex": encode(topics.output_id, processed_contract, processed).hex(),
    }
    result = subprocess.run(
        [bun, str(SCRIPT)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert result.returncode == 0, f"bun failed ({result.returncode}):\n{result.stderr}\n{result.stdout}"
    answer = json.loads(result.stdout)

    assert answer["processed"] == processed  # the TypeScript serde reads what the estimator writes
    created_bytes = bytes.fromhex(answer["createdHex"])
    assert created_bytes[0] == 0
    assert int.from_bytes(created_bytes[1:5], "big") == topics.input_id
    decoder = Decoder(created_contract, {topics.input_id: created_contract.check}, lambda _id: None)
    assert decoder.decode(created_bytes) == created  # the estimator reads what vehicles-stock writes
