import json
import threading

import pytest

from estimator.registry import RegistryClient, RegistryError, SchemaNotRegistered, waiting_fetcher
from tests.fake_registry import FakeRegistry
from tests.support import CREATED_FILE

TEXT = CREATED_FILE.read_text()
SUBJECT = "stock.vehicle-created-value"


def test_finds_the_id_of_the_exact_schema() -> None:
    with FakeRegistry() as registry:
        registry.add("other-value", "{}")
        expected = registry.add(SUBJECT, TEXT)
        assert RegistryClient(registry.url).find_schema_id(SUBJECT, TEXT) == expected


def test_compares_versions_as_parsed_json_when_the_text_differs() -> None:
    with FakeRegistry() as registry:
        registry.exact_lookup = False
        registry.add(SUBJECT, json.dumps({"type": "object"}))
        expected = registry.add(SUBJECT, json.dumps(json.loads(TEXT)))  # same schema, other whitespace
        registry.add(SUBJECT, json.dumps({"type": "string"}))
        assert RegistryClient(registry.url).find_schema_id(SUBJECT, TEXT) == expected


def test_refuses_a_missing_subject_with_what_to_run() -> None:
    with (
        FakeRegistry() as registry,
        pytest.raises(SchemaNotRegistered, match=r"run `bun run contracts:register`"),
    ):
        RegistryClient(registry.url).find_schema_id(SUBJECT, TEXT)


def test_refuses_a_subject_whose_versions_all_differ() -> None:
    with FakeRegistry() as registry:
        changed = json.loads(TEXT)
        changed["required"] = ["eventId"]
        registry.add(SUBJECT, json.dumps(changed))
        with pytest.raises(SchemaNotRegistered, match=r"none equals the schema file"):
            RegistryClient(registry.url).find_schema_id(SUBJECT, TEXT)


def test_retries_through_502_html_pages_from_the_balancer() -> None:
    with FakeRegistry() as registry:
        expected = registry.add(SUBJECT, TEXT)
        registry.fail_next = 2
        assert RegistryClient(registry.url, retry_for=5).find_schema_id(SUBJECT, TEXT) == expected
        assert len(registry.requests) == 3


def test_gives_up_after_the_deadline_and_says_what_came_back() -> None:
    with FakeRegistry() as registry:
        registry.fail_next = 1000
        with pytest.raises(RegistryError, match=r"status 502: <html>"):
            RegistryClient(registry.url, retry_for=0.5).schema_by_id(1)


def test_schema_by_id_is_none_for_an_unknown_id() -> None:
    with FakeRegistry() as registry:
        schema_id = registry.add(SUBJECT, TEXT)
        client = RegistryClient(registry.url)
        assert client.schema_by_id(schema_id) == TEXT
        assert client.schema_by_id(999) is None


def test_the_loop_fetcher_waits_out_an_outage_longer_than_the_client_retries() -> None:
    # The registry answers 502 for far longer than one client call retries (0.2 s): the fetcher keeps
    # waiting, tells the watchdog the loop is alive, and returns the schema once the registry is back.
    with FakeRegistry() as registry:
        schema_id = registry.add(SUBJECT, TEXT)
        registry.fail_next = 12
        pings: list[int] = []
        fetch = waiting_fetcher(
            RegistryClient(registry.url, retry_for=0.2),
            alive=lambda: pings.append(1),
            stop=threading.Event(),
            pause=0.05,
        )
        assert fetch(schema_id) == TEXT
        assert len(registry.requests) == 13
        assert len(pings) >= 2


def test_the_loop_fetcher_gives_up_only_when_the_process_stops() -> None:
    with FakeRegistry() as registry:
        registry.fail_next = 1000
        stop = threading.Event()
        stop.set()
        fetch = waiting_fetcher(
            RegistryClient(registry.url, retry_for=0.1), alive=lambda: None, stop=stop, pause=0.01
        )
        with pytest.raises(RegistryError, match=r"status 502"):
            fetch(1)


def test_the_loop_fetcher_reports_an_unknown_id_after_asking_twice() -> None:
    with FakeRegistry() as registry:
        fetch = waiting_fetcher(
            RegistryClient(registry.url), alive=lambda: None, stop=threading.Event(), recheck=0.01
        )
        assert fetch(999) is None
        assert len(registry.requests) == 2
