from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.integration.harness import (
    Estimators,
    RunTopics,
    StackNotUp,
    create_run_topics,
    delete_run_topics,
    stack_env,
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def stack() -> dict[str, str]:
    try:
        return stack_env()
    except StackNotUp as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture
def topics(stack: dict[str, str], request: pytest.FixtureRequest) -> Iterator[RunTopics]:
    label = request.node.name.removeprefix("test_")[:20].replace("_", "-")
    run = create_run_topics(stack["KAFKA_BROKERS"], stack["SCHEMA_REGISTRY_URL"], label)
    yield run
    delete_run_topics(stack["KAFKA_BROKERS"], stack["SCHEMA_REGISTRY_URL"], run)


@pytest.fixture
def estimators(stack: dict[str, str], topics: RunTopics) -> Iterator[Estimators]:
    group = Estimators(stack, topics)
    yield group
    group.stop_all()


MEASURED: list[str] = []


@pytest.fixture
def report() -> Callable[[str], None]:
    """Records a measured number; the terminal summary lists them (the run's record of timings)."""
    return MEASURED.append


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if MEASURED:
        terminalreporter.section("measured")
        for line in MEASURED:
            terminalreporter.write_line(line)
