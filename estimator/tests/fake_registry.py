"""A tiny in-process stand-in for the Confluent-compatible registry API, for unit tests of the client.

It can answer the first N requests with nginx's HTML 502 page, to check that the client retries.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from estimator.health import JsonHandler


class FakeRegistry:
    def __init__(self) -> None:
        self.subjects: dict[str, list[tuple[int, str]]] = {}  # subject -> [(id, schema text)] by version
        self.by_id: dict[int, str] = {}
        self.fail_next = 0
        self.requests: list[str] = []
        self.exact_lookup = True  # False: POST /subjects/{s} never matches (a registry that normalises text)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/apis/ccompat/v7"

    def add(self, subject: str, text: str) -> int:
        schema_id = len(self.by_id) + 1
        self.by_id[schema_id] = text
        self.subjects.setdefault(subject, []).append((schema_id, text))
        return schema_id

    def __enter__(self) -> FakeRegistry:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        registry = self

        class Handler(JsonHandler):
            json_type = "application/vnd.schemaregistry.v1+json"

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

            def _route(self, method: str) -> None:
                registry.requests.append(f"{method} {self.path}")
                if registry.fail_next > 0:
                    registry.fail_next -= 1
                    self._send(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html")
                    return
                prefix = "/apis/ccompat/v7"
                parts = [
                    urllib.parse.unquote(p) for p in self.path.removeprefix(prefix).strip("/").split("/")
                ]
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                if method == "POST" and len(parts) == 2 and parts[0] == "subjects":
                    self._lookup(parts[1], body)
                elif (
                    method == "GET" and len(parts) == 3 and parts[0] == "subjects" and parts[2] == "versions"
                ):
                    versions = registry.subjects.get(parts[1])
                    self._json(404 if versions is None else 200, list(range(1, len(versions or []) + 1)))
                elif method == "GET" and len(parts) == 4 and parts[0] == "subjects":
                    versions = registry.subjects.get(parts[1], [])
                    index = int(parts[3]) - 1
                    if 0 <= index < len(versions):
                        schema_id, text = versions[index]
                        self._json(
                            200, {"subject": parts[1], "version": index + 1, "id": schema_id, "schema": text}
                        )
                    else:
                        self._json(404, {"error_code": 40402, "message": "version not found"})
                elif method == "GET" and parts[:2] == ["schemas", "ids"]:
                    found = registry.by_id.get(int(parts[2]))
                    self._json(
                        404 if found is None else 200, {"schema": found} if found else {"error_code": 40403}
                    )
                else:
                    self._json(404, {"error_code": 404, "message": "no route"})

            def _lookup(self, subject: str, body: Any) -> None:
                versions = registry.subjects.get(subject)
                if versions is None:
                    self._json(404, {"error_code": 40401, "message": "subject not found"})
                    return
                for index, (schema_id, text) in enumerate(versions):
                    if registry.exact_lookup and text == body["schema"]:
                        self._json(
                            200, {"subject": subject, "version": index + 1, "id": schema_id, "schema": text}
                        )
                        return
                self._json(404, {"error_code": 40403, "message": "schema not found"})

            def log_message(self, format: str, *args: object) -> None:
                return

        return Handler
