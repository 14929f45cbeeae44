"""JSON lines on stdout with the keys every service of the system uses: time, level, service, event, message.

Extra keyword fields are added as they are. `event` is a stable dotted name (e.g. `txn.aborted`) so logs can
be filtered without parsing messages.
"""

from __future__ import annotations

import json
import sys
import threading
from datetime import UTC, datetime
from typing import Literal, TextIO

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
