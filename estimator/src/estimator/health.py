"""Prometheus metrics and the tiny HTTP server: `/health/live`, `/health/ready`, `/metrics`.

Live means the main loop turned recently (a stuck loop is a dead process); ready means the service has
checked its schemas against the registry, initialised its transactional producer and is consuming.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from .log import log

LIVE_AFTER_SECONDS = 30.0


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.in_flight = Gauge("estimator_in_flight", "records consumed and not yet finished", registry=r)
        self.processed = Counter("estimator_processed", "vehicles priced and committed", registry=r)
        self.dlq = Counter(
            "estimator_dlq", "records sent to the dead-letter topic", ["reason_kind"], registry=r
        )
        self.transactions = Counter(
            "estimator_transactions", "Kafka transactions by outcome", ["outcome"], registry=r
        )
        self.lag = Gauge(
            "estimator_consumer_lag",
            "high watermark minus committed offset",
            ["topic", "partition"],
            registry=r,
        )
        self.assigned = Gauge("estimator_assigned_partitions", "partitions this instance owns", registry=r)
        self.transaction_records = Gauge(
            "estimator_transaction_records", "records produced in the open transaction", registry=r
        )
        self.paused = Gauge("estimator_paused", "1 while fetching is paused by the full window", registry=r)
        # How long the loop is held by one commit (send_offsets + commit_transaction, or the abort that
        # replaced it): what arrives meanwhile waits for the next transaction.
        self.commit_seconds = Histogram(
            "estimator_commit_seconds",
            "time the loop spent in one transaction commit",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0),
            registry=r,
        )


class Health:
    """State the main loop writes and the HTTP thread reads (attribute access is atomic)."""

    def __init__(self) -> None:
        self.last_turn = time.monotonic()
        self.ready = False
        self.reason = "starting"

    def turned(self) -> None:
        self.last_turn = time.monotonic()

    def live(self) -> bool:
        return time.monotonic() - self.last_turn < LIVE_AFTER_SECONDS


class HealthServer:
    def __init__(self, host: str, port: int, health: Health, metrics: Metrics) -> None:
        handler = _handler(health, metrics)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="health", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class JsonHandler(BaseHTTPRequestHandler):
    """Answers with a whole body and its length; JSON bodies under `json_type`.

    The health server's handler is one, and so is the fake registry's of the unit tests.
    """

    json_type = "application/json"

    def _json(self, status: int, body: object) -> None:
        self._send(status, json.dumps(body).encode(), self.json_type)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _handler(health: Health, metrics: Metrics) -> type[BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._send(200, generate_latest(metrics.registry), CONTENT_TYPE_LATEST)
            elif self.path == "/health/live":
                ok = health.live()
                self._json(200 if ok else 503, {"status": "ok" if ok else "stalled"})
            elif self.path == "/health/ready":
                ok = health.ready and health.live()
                self._json(
                    200 if ok else 503, {"status": "ready" if ok else "not ready", "reason": health.reason}
                )
            else:
                self._json(404, {"code": "NOT_FOUND", "message": f"no route {self.path}"})

        def log_message(self, format: str, *args: object) -> None:
            log.debug("http.request", format % args)

    return Handler
