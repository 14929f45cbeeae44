"""A small client of the Confluent-compatible registry API (Apicurio's ccompat/v7 behind nginx).

Read-only on purpose: `contracts:register` owns registration; the estimator only finds the ids of the
schemas it was built with and fetches writer schemas by id. Requests go through a load balancer that may
answer 502 or an HTML error page while an instance restarts, so transient failures are
retried with backoff until a deadline, and a body that is not JSON is reported as such.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .log import log

_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
_RETRY_STATUSES = {408, 429, 500, 502, 503, 504}


class RegistryError(Exception):
    """The registry could not be reached or answered something unusable, after retries."""


class SchemaNotRegistered(Exception):
    """The subject is missing, or none of its versions is the schema this service was built with."""


@dataclass(frozen=True, slots=True)
class _Response:
    status: int
    body: Any


class RegistryClient:
    def __init__(self, base_url: str, *, timeout: float = 5.0, retry_for: float = 30.0) -> None:
        self._base = base_url.rstrip("/")
        self._timeout = timeout
        self._retry_for = retry_for

    # -- what the estimator asks -------------------------------------------------------------------------

    def find_schema_id(self, subject: str, schema_text: str) -> int:
        """The id under which `subject` holds exactly this schema (compared as parsed JSON)."""
        quoted = urllib.parse.quote(subject, safe="")
        found = self._request("POST", f"/subjects/{quoted}", {"schema": schema_text, "schemaType": "JSON"})
        if found.status == 200 and isinstance(found.body, dict) and isinstance(found.body.get("id"), int):
            return int(found.body["id"])
        # The exact-text lookup missed: a registry may store the text normalised, so compare every version
        # as parsed JSON before deciding the schema is not there.
        versions = self._request("GET", f"/subjects/{quoted}/versions")
        if versions.status == 404:
            raise SchemaNotRegistered(
                f"subject '{subject}' is not registered in the schema registry; "
                "run `bun run contracts:register`"
            )
        if versions.status != 200 or not isinstance(versions.body, list):
            raise RegistryError(
                f"GET /subjects/{subject}/versions answered {versions.status}: {versions.body}"
            )
        wanted = json.loads(schema_text)
        for version in sorted((v for v in versions.body if isinstance(v, int)), reverse=True):
            got = self._request("GET", f"/subjects/{quoted}/versions/{version}")
            if (
                got.status == 200
                and isinstance(got.body, dict)
                and _same_schema(got.body.get("schema"), wanted)
            ):
                return int(got.body["id"])
        raise SchemaNotRegistered(
            f"subject '{subject}' has versions {versions.body} but none equals the schema file this service "
            "reads; the contracts and the registry disagree (run `bun run contracts:register`, or deploy the "
            "matching contracts)"
        )

    def schema_by_id(self, schema_id: int) -> str | None:
        """The schema text with this global id, or None when the registry does not know the id."""
        got = self._request("GET", f"/schemas/ids/{schema_id}")
        if got.status == 404:
            return None
        if got.status != 200 or not isinstance(got.body, dict) or not isinstance(got.body.get("schema"), str):
            raise RegistryError(f"GET /schemas/ids/{schema_id} answered {got.status}: {got.body}")
        return str(got.body["schema"])

    def ping(self) -> bool:
        try:
            return self._request("GET", "/subjects", retry=False).status == 200
        except RegistryError:
            return False

    # -- transport ---------------------------------------------------------------------------------------

    def _request(self, method: str, path: str, payload: object = None, *, retry: bool = True) -> _Response:
        deadline = time.monotonic() + (self._retry_for if retry else 0)
        delay = 0.2
        while True:
            try:
                response = self._once(method, path, payload)
                if response.status not in _RETRY_STATUSES:
                    return response
                problem = f"status {response.status}: {response.body}"
            except (urllib.error.URLError, TimeoutError, ConnectionError, ValueError) as error:
                problem = f"{type(error).__name__}: {error}"
            if time.monotonic() + delay > deadline:
                raise RegistryError(f"{method} {self._base}{path} failed: {problem}")
            time.sleep(delay)
            delay = min(delay * 2, 3.0)

    def _once(self, method: str, path: str, payload: object) -> _Response:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(  # noqa: S310  # the URL is the configured http(s) registry
            self._base + path,
            data=data,
            method=method,
            headers={"Accept": _CONTENT_TYPE, "Content-Type": _CONTENT_TYPE},
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as reply:  # noqa: S310
                return _Response(reply.status, _json_or_text(reply.read()))
        except urllib.error.HTTPError as error:
            return _Response(error.code, _json_or_text(error.read()))


def _json_or_text(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        # nginx error pages are HTML: keep a short excerpt so the error says what came back.
        return raw[:200].decode("utf-8", "replace")


def _same_schema(text: object, wanted: object) -> bool:
    if not isinstance(text, str):
        return False
    try:
        return bool(json.loads(text) == wanted)
    except ValueError:
        return False


def waiting_fetcher(
    client: RegistryClient,
    *,
    alive: Callable[[], None],
    stop: threading.Event,
    recheck: float = 1.0,
    pause: float = 2.0,
) -> Callable[[int], str | None]:
    """`schema_by_id` for the decoder, waiting out a registry outage instead of failing the record.

    An id this instance has not seen yet arrives with a record; while the registry is down its schema
    cannot be known, and the record is neither poison nor skippable, so the loop waits here until the
    registry answers (an outage of any length) or the process is told to stop (then `RegistryError`).
    `alive` is called between attempts: a wait on the registry is not a Kafka call stuck in librdkafka,
    and must not trip the watchdog. The client's own retries should stay well under the watchdog's limit.
    """

    def fetch(schema_id: int) -> str | None:
        while True:
            try:
                text = client.schema_by_id(schema_id)
                if text is None:
                    # The registry instances replicate through Kafka: an id registered a moment ago on
                    # another instance may not be visible here yet. Ask once more before calling it unknown.
                    time.sleep(recheck)
                    text = client.schema_by_id(schema_id)
                return text
            except RegistryError as error:
                if stop.is_set():
                    raise
                log.warn(
                    "registry.waiting",
                    f"schema id {schema_id}: {error}; waiting for the registry",
                    schema_id=schema_id,
                )
                alive()
                stop.wait(pause)
                alive()

    return fetch
