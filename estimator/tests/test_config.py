"""The dead-letter topic comes from the generated topics file, not from a naming rule of its own."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from estimator.config import Settings
from tests.support import CONTRACTS_DIR, REPO_ROOT

TOPICS_FILE = REPO_ROOT / "infra" / "topics.json"


def settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "kafka_brokers": "127.0.0.1:1",
        "schema_registry_url": "http://127.0.0.1:1",
        "contracts_dir": CONTRACTS_DIR,
    }
    base.update(overrides)
    return Settings(**base)


def test_the_input_topics_dlq_is_the_one_the_generated_file_names() -> None:
    definition = json.loads(TOPICS_FILE.read_text(encoding="utf-8"))
    named = {entry["name"]: entry.get("dlq") for entry in definition["topics"]}
    assert settings().topics_file == TOPICS_FILE
    assert settings().dead_letter_topic == named["stock.vehicle-created"]
    processed = settings(input_topic="stock.vehicle-processed")
    assert processed.dead_letter_topic == named["stock.vehicle-processed"]


def test_a_dlq_in_the_file_is_used_as_written(tmp_path: Path) -> None:
    file = tmp_path / "topics.json"
    file.write_text(json.dumps({"topics": [{"name": "a.in", "dlq": "a.dead"}, {"name": "a.dead"}]}))
    assert settings(topics_file=file, input_topic="a.in").dead_letter_topic == "a.dead"


def test_dlq_topic_overrides_the_file() -> None:
    assert settings(dlq_topic="mine.dlq").dead_letter_topic == "mine.dlq"
    assert settings(input_topic="run-1.in", dlq_topic="run-1.in.dlq").dead_letter_topic == "run-1.in.dlq"


def test_an_input_topic_the_file_gives_no_dlq_stops_the_start_naming_the_variable() -> None:
    with pytest.raises(ValidationError, match=re.escape("no dead-letter topic for run-2.in: set DLQ_TOPIC")):
        settings(input_topic="run-2.in")
    with pytest.raises(ValidationError, match=re.escape("topic for stock.vehicle-created.dlq")):
        settings(input_topic="stock.vehicle-created.dlq")


def test_an_unreadable_topics_file_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"TOPICS_FILE .* cannot be read"):
        settings(topics_file=tmp_path / "missing.json")
