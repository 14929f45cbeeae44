"""The one place that reads the environment: every setting, validated once at start.

A bad or missing value stops the process with a message naming the variable (see `load_settings`).
"""

from __future__ import annotations

import json
import socket
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# estimator/src/estimator/config.py -> the repository root is four levels up.
_REPO_ROOT = Path(__file__).resolve().parents[3]
_DEFAULT_CONTRACTS_DIR = _REPO_ROOT / "packages" / "contracts" / "schemas"
# Generated from packages/contracts/src/topics.ts, the one definition of the topics and their DLQs.
_DEFAULT_TOPICS_FILE = _REPO_ROOT / "infra" / "topics.json"

TopicName = Annotated[str, Field(min_length=1, max_length=249, pattern=r"^[A-Za-z0-9._-]+$")]


class Settings(BaseSettings):
    """Names match the environment variables (case-insensitive), e.g. `KAFKA_BROKERS`."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    kafka_brokers: Annotated[str, Field(min_length=1, description="comma-separated host:port list")]
    schema_registry_url: Annotated[str, Field(pattern=r"^https?://\S+$")]
    contracts_dir: Path = _DEFAULT_CONTRACTS_DIR
    topics_file: Path = _DEFAULT_TOPICS_FILE

    input_topic: TopicName = "stock.vehicle-created"
    output_topic: TopicName = "stock.vehicle-processed"
    # Empty means the dead-letter topic the topics file names for the input topic.
    dlq_topic: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]*$", max_length=249)] = ""
    group_id: Annotated[str, Field(min_length=1)] = "price-estimate"
    # Part of `transactional.id`: must be unique among running instances and stable across restarts of one.
    instance_id: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9._-]+$")] = Field(
        default_factory=socket.gethostname
    )
    # How many transactional producers (ids `<group>-<instance>-<k>`) take transactions in turn, so that a
    # transaction never waits for the coordinator to finish completing the one before (see state.py).
    transactional_ids: Annotated[int, Field(ge=1, le=16)] = 4

    estimate_delay_seconds: Annotated[float, Field(ge=0, le=86_400)] = 30.0
    max_in_flight: Annotated[int, Field(ge=1, le=1_000_000)] = 10_000
    # 0: commit at the end of every turn that produced something (lowest latency; batches grow with the
    # load by themselves); > 0: keep a transaction open up to this long to gather more records.
    commit_interval_ms: Annotated[int, Field(ge=0, le=60_000)] = 0
    # The upper bound on batching under load: a transaction commits once it holds this many records.
    commit_max_records: Annotated[int, Field(ge=1, le=100_000)] = 1_000
    shutdown_grace_seconds: Annotated[float, Field(ge=0, le=600)] = 10.0
    transaction_timeout_ms: Annotated[int, Field(ge=1_000, le=900_000)] = 60_000
    # How long the group waits for a silent member (kill -9) before moving its partitions.
    session_timeout_ms: Annotated[int, Field(ge=6_000, le=300_000)] = 30_000

    metrics_port: Annotated[int, Field(ge=0, le=65_535)] = 9101
    metrics_host: str = "127.0.0.1"
    log_level: Literal["debug", "info", "warn", "error"] = "info"

    @field_validator("kafka_brokers")
    @classmethod
    def _brokers_are_host_ports(cls, value: str) -> str:
        for broker in value.split(","):
            host, sep, port = broker.strip().rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"'{broker}' is not host:port")
        return value

    @field_validator("contracts_dir")
    @classmethod
    def _contracts_dir_exists(cls, value: Path) -> Path:
        if not value.is_dir():
            raise ValueError(f"{value} is not a directory (set CONTRACTS_DIR to packages/contracts/schemas)")
        return value

    @model_validator(mode="after")
    def _dead_letter_topic_is_known(self) -> Settings:
        # Resolved once here, so that a topic without a DLQ stops the process at start, not at the
        # first poison record.
        if not self.dlq_topic:
            dead_letter_topic_of(self.topics_file, self.input_topic)
        return self

    @property
    def dead_letter_topic(self) -> str:
        return self.dlq_topic or dead_letter_topic_of(self.topics_file, self.input_topic)

    @property
    def input_subject(self) -> str:
        return f"{self.input_topic}-value"

    @property
    def output_subject(self) -> str:
        return f"{self.output_topic}-value"

    @property
    def transactional_id(self) -> str:
        """The instance's transactional id: the only one with TRANSACTIONAL_IDS=1, the prefix otherwise."""
        return f"{self.group_id}-{self.instance_id}"

    def transactional_id_of(self, slot: int) -> str:
        """The id of producer `slot` (0 to TRANSACTIONAL_IDS - 1) of the rotation, stable across restarts."""
        if not 0 <= slot < self.transactional_ids:
            raise ValueError(f"slot {slot} is outside the rotation of {self.transactional_ids}")
        if self.transactional_ids == 1:
            return self.transactional_id
        return f"{self.transactional_id}-{slot}"


@cache
def dead_letter_topic_of(topics_file: Path, topic: str) -> str:
    """The `dlq` the topics file gives `topic`; a ValueError naming both variables when it has none."""
    try:
        definition = json.loads(topics_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"TOPICS_FILE {topics_file} cannot be read: {error}") from None
    for entry in definition.get("topics", []):
        if entry.get("name") == topic and isinstance(entry.get("dlq"), str):
            return str(entry["dlq"])
    raise ValueError(f"{topics_file} names no dead-letter topic for {topic}: set DLQ_TOPIC")


class ConfigError(Exception):
    """Raised with one line per bad variable; `__main__` prints it and exits 2."""


def load_settings() -> Settings:
    try:
        return Settings()  # type: ignore[call-arg]  # required fields come from the environment
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            name = "_".join(str(part) for part in problem["loc"]).upper() or "environment"
            lines.append(f"{name}: {problem['msg']}")
        raise ConfigError("invalid configuration: " + "; ".join(lines)) from None
