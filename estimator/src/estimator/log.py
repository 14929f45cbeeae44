"""JSON lines on stdout with the keys every service of the system uses: time, level, service, event, message.

Extra keyword fields are added as they are. `event` is a stable dotted name (e.g. `txn.aborted`) so logs can
be filtered without parsing messages.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from datetime import UTC, datetime
from typing import ClassVar, Literal, TextIO

Level = Literal["debug", "info", "warn", "error"]
_RANK: dict[Level, int] = {"debug": 10, "info": 20, "warn": 30, "error": 40}
SERVICE = "price-estimate"


class Logger:
    def __init__(self, level: Level = "info", stream: TextIO | None = None) -> None:
        self._threshold = _RANK[level]
        self._stream = stream
        self._lock = threading.Lock()

    def set_level(self, level: Level) -> None:
        self._threshold = _RANK[level]

    def log(self, level: Level, event: str, message: str, **fields: object) -> None:
        if _RANK[level] < self._threshold:
            return
        record: dict[str, object] = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": level,
            "service": SERVICE,
            "event": event,
            "message": message,
        }
        for key, value in fields.items():
            record.setdefault(key, value)
        line = json.dumps(record, default=str, separators=(",", ":"))
        stream = self._stream or sys.stdout
        with self._lock:  # the health server logs from its own thread
            stream.write(line + "\n")
            stream.flush()

    def debug(self, event: str, message: str, **fields: object) -> None:
        self.log("debug", event, message, **fields)

    def info(self, event: str, message: str, **fields: object) -> None:
        self.log("info", event, message, **fields)

    def warn(self, event: str, message: str, **fields: object) -> None:
        self.log("warn", event, message, **fields)

    def error(self, event: str, message: str, **fields: object) -> None:
        self.log("error", event, message, **fields)


log = Logger()


class KafkaClientLogs(logging.Handler):
    """librdkafka's own log lines (connection failures, rebalances) as JSON lines with the same keys,
    instead of its plain `%3|…|FAIL|…` text on stderr."""

    _LEVELS: ClassVar[dict[int, Level]] = {
        logging.DEBUG: "debug",
        logging.INFO: "info",
        logging.WARNING: "warn",
    }

    def __init__(self, target: Logger) -> None:
        super().__init__()
        self._target = target

    def emit(self, record: logging.LogRecord) -> None:
        level = self._LEVELS.get(record.levelno, "error" if record.levelno > logging.WARNING else "debug")
        self._target.log(level, "kafka.client", record.getMessage(), client=record.name)


def kafka_client_logger(name: str) -> logging.Logger:
    """A stdlib logger for confluent-kafka's `logger` setting; WARN and above (client chatter stays out)."""
    logger = logging.getLogger(f"rdkafka.{name}")
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    if not logger.handlers:
        logger.addHandler(KafkaClientLogs(log))
    return logger
