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


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Writes a measured number to the terminal summary (the run's record of timings)."""
    lines: list[str] = []
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")

    def write(line: str) -> None:
        lines.append(line)
        if reporter is not None:
            reporter.write_line(f"\n[measured] {line}")

    return write
