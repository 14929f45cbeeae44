"""`python -m estimator`: check config and schemas, start health/metrics, run the loop until SIGTERM.

Exit codes: 0 after a clean shutdown, 1 on a fatal Kafka error (or a stop while waiting for the
registry), 2 on bad configuration, 3 when the registry lacks the schemas this build was made with (or
differs from them), 4 when a topic is missing. An unreachable Kafka or registry is waited for, at start
and while running, however long it lasts.
"""

from __future__ import annotations

import faulthandler
import functools
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import NamedTuple, TypeVar

from confluent_kafka import KafkaException, Producer

from .config import ConfigError, Settings, load_settings
from .health import Health, HealthServer, Metrics
from .kafka import make_consumer, make_producer
from .log import log
from .registry import RegistryClient, RegistryError, SchemaNotRegistered, waiting_fetcher
from .serde import CREATED_SCHEMA_FILE, PROCESSED_SCHEMA_FILE, Contract, Decoder
from .service import Estimator, FatalKafkaError
from .txn import Action, classify, error_of
from .watchdog import Watchdog

T = TypeVar("T")
_UNKNOWN_ID_RECHECK = 1.0
_REGISTRY_RETRY_IN_LOOP = 5.0
_TOPICS_CONFIRM = 10.0
# Over twice the longest single call the loop makes (a transactional call is bounded by the producer's
# socket.timeout.ms, 10 s, and the loop marks a turn after each try), so only a call librdkafka does not
# return from trips it: send_offsets after every broker restarted, waiting on a coordinator that had
# aborted the transaction (seen for minutes).
_STUCK_AFTER = 25.0


def _until_registry_answers(what: str, call: Callable[[], T], health: Health, stop: threading.Event) -> T:
    """Started while the registry is down (or every instance behind the balancer restarts): wait for it,
    as for Kafka, rather than exit and be restarted in a loop. A registry that answers but lacks the
    contract schemas (SchemaNotRegistered) still ends the start: waiting would not change that."""
    while True:
        try:
            return call()
        except RegistryError as error:
            if stop.is_set():
                raise
            health.reason = "waiting for the schema registry"
            log.warn("registry.waiting", f"{what}: {error}; trying again")
            stop.wait(2.0)


def _until_kafka_answers(what: str, call: Callable[[], T], stop: threading.Event) -> T:
    """Started while Kafka is down (the orchestrator restarts an instance whatever the cluster's state):
    wait for it rather than exit and be restarted in a loop. Fatal errors still end the start."""
    while True:
        try:
            return call()
        except KafkaException as failure:
            error = error_of(failure)
            if classify(error) is Action.FATAL or stop.is_set():
                raise
            log.warn("kafka.waiting", f"{what}: {error.str()}; trying again")
            stop.wait(1.0)


def _missing_topics(producer: Producer, settings: Settings, stop: threading.Event) -> list[str]:
    """Topics absent from the cluster's metadata. Brokers that have just restarted answer before they have
    loaded every topic, so an absence is confirmed for a few seconds before it counts."""
    wanted = [settings.input_topic, settings.output_topic, settings.dead_letter_topic]
    deadline: float | None = None
    while True:
        metadata = _until_kafka_answers("metadata", lambda: producer.list_topics(timeout=10), stop)
        deadline = deadline or time.monotonic() + _TOPICS_CONFIRM  # counted from the first answer
        missing = [t for t in wanted if t not in metadata.topics or metadata.topics[t].error is not None]
        if not missing or time.monotonic() >= deadline or stop.is_set():
            return missing
        time.sleep(1.0)


def _stop_on_signals(stop: threading.Event) -> None:
    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal.received", f"{signal.Signals(signum).name}: shutting down", signal=signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    # `kill -USR1 <pid>` prints every thread's stack to stderr, even while the loop is blocked in a call
    # into librdkafka (a Python handler would only run once that call returns).
    faulthandler.register(signal.SIGUSR1, all_threads=True)


class _Schemas(NamedTuple):
    created: Contract
    processed: Contract
    input_id: int
    output_id: int


def _verify_schemas(settings: Settings, health: Health, stop: threading.Event) -> _Schemas:
    """The contracts this build was made with, and the ids the registry holds them under; raises
    SchemaNotRegistered, RegistryError or RuntimeError when the start must be refused."""
    created = Contract.load(settings.contracts_dir / CREATED_SCHEMA_FILE)
    processed = Contract.load(settings.contracts_dir / PROCESSED_SCHEMA_FILE)
    registry = RegistryClient(settings.schema_registry_url)
    input_id = _until_registry_answers(
        "input schema",
        lambda: registry.find_schema_id(settings.input_subject, created.text),
        health,
        stop,
    )
    output_id = _until_registry_answers(
        "output schema",
        lambda: registry.find_schema_id(settings.output_subject, processed.text),
        health,
        stop,
    )
    return _Schemas(created, processed, input_id, output_id)


def _consume_until_stopped(
    settings: Settings,
    first: Producer,
    decoder: Decoder,
    schemas: _Schemas,
    metrics: Metrics,
    health: Health,
    stop: threading.Event,
) -> None:
    # Every transactional id of the rotation, before anything is consumed: fences any earlier producer
    # with that id (an earlier session of this instance) and aborts what it left open (state.py).
    producers = [first, *(make_producer(settings, slot) for slot in range(1, settings.transactional_ids))]
    for slot, producer in enumerate(producers):
        init = functools.partial(producer.init_transactions, 10)
        _until_kafka_answers(f"init_transactions {settings.transactional_id_of(slot)}", init, stop)
    consumer = make_consumer(settings)
    estimator = Estimator(
        settings,
        consumer,
        producers,
        decoder,
        schemas.processed,
        schemas.output_id,
        metrics,
        health,
        new_producer=lambda slot: make_producer(settings, slot),
    )
    watchdog = Watchdog(health, stuck_after=_STUCK_AFTER, grace=settings.shutdown_grace_seconds + 4)
    health.turned()
    watchdog.start()
    try:
        estimator.run(stop)
    finally:
        watchdog.stop()


def run(settings: Settings) -> int:
    log.set_level(settings.log_level)
    health = Health()
    metrics = Metrics()
    server = HealthServer(settings.metrics_host, settings.metrics_port, health, metrics)
    server.start()
    log.info(
        "health.listening", f"health and metrics on {settings.metrics_host}:{server.port}", port=server.port
    )

    stop = threading.Event()
    _stop_on_signals(stop)

    try:
        schemas = _verify_schemas(settings, health, stop)
    except (SchemaNotRegistered, RegistryError, RuntimeError) as error:
        log.error("schemas.refused", f"refusing to start: {error}")
        server.stop()
        return 3
    log.info(
        "schemas.verified",
        "registry holds the contract schemas",
        input_subject=settings.input_subject,
        input_schema_id=schemas.input_id,
        output_subject=settings.output_subject,
        output_schema_id=schemas.output_id,
    )
    health.reason = "initialising transactions"

    # While the loop runs, one registry call must end well inside the watchdog's limit (_STUCK_AFTER):
    # the fetcher waits out longer outages between calls, telling the watchdog the loop is alive.
    fetch = waiting_fetcher(
        RegistryClient(settings.schema_registry_url, retry_for=_REGISTRY_RETRY_IN_LOOP),
        alive=health.turned,
        stop=stop,
        recheck=_UNKNOWN_ID_RECHECK,
    )
    decoder = Decoder(schemas.created, {schemas.input_id: schemas.created.check}, fetch)
    producer = make_producer(settings, 0)
    try:
        missing = _missing_topics(producer, settings, stop)
        if missing:
            # Auto-created topics would get the broker's defaults (partitions, RF): refuse instead.
            log.error(
                "topics.missing", f"refusing to start: topics {missing} do not exist; create them first"
            )
            server.stop()
            return 4
        _consume_until_stopped(settings, producer, decoder, schemas, metrics, health, stop)
    except (FatalKafkaError, KafkaException) as error:
        log.error("estimator.fatal", f"fatal Kafka error, exiting: {error}")
        server.stop()
        return 1
    except RegistryError as error:
        # Only raised once a stop was asked for while waiting on the registry; the records not committed
        # are read again by whoever owns their partition next.
        log.warn("estimator.stopped", f"stopped while waiting for the schema registry: {error}")
        server.stop()
        return 1
    server.stop()
    return 0


def main() -> None:
    try:
        settings = load_settings()
    except ConfigError as error:
        log.error("config.invalid", str(error))
        sys.exit(2)
    sys.exit(run(settings))


if __name__ == "__main__":
    main()
