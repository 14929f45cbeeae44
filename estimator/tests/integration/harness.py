"""What the integration tests need from the real stack: its addresses, per-run topics and subjects, estimator
processes, a producer of created events and a read_committed reader of the outputs.

Every run owns its names (`it-<run>.…` topics, subjects and group), so runs of other helpers on the shared
stack never see its records, and it deletes only what it created.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from tests.support import CONTRACTS_DIR, CREATED_FILE, PROCESSED_FILE, REPO_ROOT

ESTIMATOR_ROOT = Path(__file__).resolve().parents[2]
PYTHON = ESTIMATOR_ROOT / ".venv" / "bin" / "python"
LOG_DIR = ESTIMATOR_ROOT / ".test-logs"
REQUIRED = ("KAFKA_BROKERS", "SCHEMA_REGISTRY_URL")


def script_parser(doc: str | None) -> argparse.ArgumentParser:
    """The option parser of a script in estimator/scripts: its module docstring, as written, is its --help."""
    return argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)


class StackNotUp(Exception):
    pass


def stack_env() -> dict[str, str]:
    """Reads `.stack/stack.env`; raises with what to run when the stack is not up (tests fail, never skip)."""
    path = Path(os.environ.get("STACK_ENV_FILE", REPO_ROOT / ".stack" / "stack.env"))
    if not path.exists():
        raise StackNotUp(f"the local stack is not up ({path} is missing): run `bun run stack up` first")
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip().isupper():
            env[name.strip()] = value.strip()
    missing = [key for key in REQUIRED if not env.get(key)]
    if missing:
        raise StackNotUp(f"{path} lacks {', '.join(missing)}: run `bun run stack up` again")
    return env


def wait_for(what: str, check: Callable[[], Any], timeout: float, every: float = 0.2) -> Any:
    """Polls `check` until it returns a truthy value; fails with the last value or error seen."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
            last = result
        except Exception as error:  # reported below if it never succeeds
            last = f"{type(error).__name__}: {error}"
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last seen: {last!r}")


# -- registry ---------------------------------------------------------------------------------------------


def registry_call(base: str, method: str, path: str, body: object = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310  # the stack's registry URL
        base.rstrip("/") + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310
            raw = reply.read()
            return reply.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, raw[:200].decode("utf-8", "replace")


def register(base: str, subject: str, schema_text: str) -> int:
    quoted = urllib.parse.quote(subject, safe="")

    def attempt() -> int | None:
        status, body = registry_call(
            base, "POST", f"/subjects/{quoted}/versions", {"schema": schema_text, "schemaType": "JSON"}
        )
        if status == 200 and isinstance(body, dict):
            return int(body["id"])
        raise AssertionError(f"registering {subject}: {status} {body}")

    return int(wait_for(f"registration of {subject}", attempt, timeout=60, every=1))


# -- topics -----------------------------------------------------------------------------------------------


@dataclass
class RunTopics:
    run: str
    input: str
    output: str
    dlq: str
    input_id: int
    output_id: int
    group: str

    @property
    def all(self) -> list[str]:
        return [self.input, self.output, self.dlq]


def create_run_topics(brokers: str, registry: str, label: str) -> RunTopics:
    run = f"it-{label}-{uuid.uuid4().hex[:8]}"
    topics = RunTopics(
        run=run,
        input=f"{run}.stock.vehicle-created",
        output=f"{run}.stock.vehicle-processed",
        dlq=f"{run}.stock.vehicle-created.dlq",
        input_id=0,
        output_id=0,
        group=f"{run}.price-estimate",
    )
    admin = AdminClient({"bootstrap.servers": brokers})
    futures = admin.create_topics(
        [
            NewTopic(t, num_partitions=6, replication_factor=3, config={"min.insync.replicas": "2"})
            for t in topics.all
        ],
        operation_timeout=30,
    )
    for name, future in futures.items():
        try:
            future.result(60)
        except KafkaException as error:
            raise AssertionError(f"creating topic {name}: {error}") from error
    topics.input_id = register(registry, f"{topics.input}-value", CREATED_FILE.read_text())
    topics.output_id = register(registry, f"{topics.output}-value", PROCESSED_FILE.read_text())
    return topics


def delete_run_topics(brokers: str, registry: str, topics: RunTopics) -> None:
    admin = AdminClient({"bootstrap.servers": brokers})
    for future in admin.delete_topics(topics.all, operation_timeout=30).values():
        with contextlib.suppress(KafkaException):  # best effort: the names are unique to this run
            future.result(60)
    for topic in (topics.input, topics.output):
        delete_subject(registry, f"{topic}-value")


def delete_subject(registry: str, subject: str) -> None:
    """Soft, then permanent delete (the Confluent API needs both); only ever for this run's subjects."""
    quoted = urllib.parse.quote(subject, safe="")
    registry_call(registry, "DELETE", f"/subjects/{quoted}")
    registry_call(registry, "DELETE", f"/subjects/{quoted}?permanent=true")


# -- estimator processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Instance:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes] = field(repr=False)

    def http(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=2) as reply:
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def metric(self, name: str) -> float:
        _, text = self.http("/metrics")
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name) and (line[len(name)] in " {"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_file.closed:
            self.log_file.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def events(self, event: str) -> list[dict[str, Any]]:
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("event") == event:
                out.append(record)
        return out

    def alive(self) -> bool:
        return self.process.poll() is None


class Estimators:
    """Starts `python -m estimator` processes for one run and stops whatever is left at the end."""

    def __init__(self, env: dict[str, str], topics: RunTopics) -> None:
        self._env = env
        self._topics = topics
        self.instances: list[Instance] = []
        LOG_DIR.mkdir(exist_ok=True)

    def start(self, name: str, **overrides: str) -> Instance:
        port = free_port()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "KAFKA_BROKERS": self._env["KAFKA_BROKERS"],
            "SCHEMA_REGISTRY_URL": self._env["SCHEMA_REGISTRY_URL"],
            "CONTRACTS_DIR": str(CONTRACTS_DIR),
            "INPUT_TOPIC": self._topics.input,
            "OUTPUT_TOPIC": self._topics.output,
            # The run's own topics are not in infra/topics.json, so their DLQ is named here.
            "DLQ_TOPIC": self._topics.dlq,
            "GROUP_ID": self._topics.group,
            "INSTANCE_ID": name,
            "METRICS_PORT": str(port),
            "ESTIMATE_DELAY_SECONDS": "5",
            "SESSION_TIMEOUT_MS": "10000",
            "TRANSACTION_TIMEOUT_MS": "20000",
            **overrides,
        }
        log_path = LOG_DIR / f"{self._topics.run}-{name}-{len(self.instances)}.log"
        log_file = log_path.open("wb")
        process = subprocess.Popen(
            [str(PYTHON), "-m", "estimator"],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            cwd=ESTIMATOR_ROOT,
        )
        instance = Instance(name, port, process, log_path, log_file)
        self.instances.append(instance)
        return instance

    def wait_ready(self, instance: Instance, timeout: float = 60) -> None:
        def ready() -> bool:
            if not instance.alive():
                raise AssertionError(
                    f"{instance.name} exited with {instance.process.returncode}:\n{instance.log_tail()}"
                )
            return instance.http("/health/ready")[0] == 200

        try:
            wait_for(f"{instance.name} ready", ready, timeout)
        except AssertionError as error:
            raise AssertionError(f"{error}\n--- {instance.name} log ---\n{instance.log_tail()}") from None

    def wait_assignment(self, instances: list[Instance], partitions: int = 6, timeout: float = 60) -> None:
        """Waits until the instances together own every partition, each owning some."""

        def balanced() -> bool:
            counts = [i.metric("estimator_assigned_partitions") for i in instances]
            return sum(counts) == partitions and all(c > 0 for c in counts)

        try:
            wait_for("the group to share all partitions", balanced, timeout)
        except AssertionError as error:
            tails = "\n".join(f"--- {i.name} ---\n{i.log_tail()}" for i in instances)
            raise AssertionError(f"{error}\n{tails}") from None

    def kill9(self, instance: Instance) -> None:
        instance.process.send_signal(signal.SIGKILL)
        instance.process.wait(10)

    def stop_all(self) -> None:
        for instance in self.instances:
            if instance.alive():
                instance.process.send_signal(signal.SIGTERM)
        for instance in self.instances:
            try:
                instance.process.wait(30)
            except subprocess.TimeoutExpired:
                instance.process.kill()
                instance.process.wait(5)
            instance.log_file.close()


# -- producing input and reading output ------------------------------------------------------------------


def producer(brokers: str) -> Producer:
    return Producer(
        {
            "bootstrap.servers": brokers,
            "enable.idempotence": True,
            "acks": "all",
            "partitioner": "murmur2_random",
            "linger.ms": 5,
        }
    )


def produce_all(
    p: Producer,
    topic: str,
    records: list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]],
    partition: int | None = None,
) -> None:
    failures: list[str] = []

    def delivered(error: object, _message: object) -> None:
        if error is not None:
            failures.append(str(error))

    for key, value, headers in records:
        kwargs: dict[str, Any] = {"key": key, "value": value, "headers": headers, "on_delivery": delivered}
        if partition is not None:
            kwargs["partition"] = partition
        while True:
            try:
                p.produce(topic, **kwargs)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    remaining = p.flush(30)
    assert remaining == 0, f"{remaining} input records not delivered"
    assert not failures, f"input delivery failed: {failures[:5]}"


@contextmanager
def committed_reader(brokers: str, topic: str) -> Iterator[Consumer]:
    consumer = Consumer(
        {
            "bootstrap.servers": brokers,
            "group.id": f"it-reader-{uuid.uuid4().hex[:8]}",
            "isolation.level": "read_committed",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    try:
        yield consumer
    finally:
        consumer.close()


def read_until(
    consumer: Consumer, done: Callable[[list[Any]], bool], timeout: float, settle: float = 0.0
) -> list[Any]:
    """Collects messages until `done(messages)`, then keeps reading `settle` seconds to catch extras."""
    messages: list[Any] = []
    deadline = time.monotonic() + timeout
    settle_until: float | None = None
    while True:
        now = time.monotonic()
        if settle_until is not None and now >= settle_until:
            return messages
        if settle_until is None and now >= deadline:
            return messages
        for message in consumer.consume(500, 0.2):
            if message.error() is not None:
                raise AssertionError(f"reader error: {message.error()}")
            messages.append(message)
        if settle_until is None and done(messages):
            settle_until = time.monotonic() + settle


def end_offsets(brokers: str, topic: str, group: str) -> tuple[dict[int, int], dict[int, int]]:
    """(committed offsets of `group`, high watermarks) per partition of `topic`."""
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": group, "enable.auto.commit": False})
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        tps = [TopicPartition(topic, p) for p in sorted(meta.partitions)]
        committed = {tp.partition: tp.offset for tp in consumer.committed(tps, timeout=10)}
        highs = {tp.partition: consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in tps}
        return committed, highs
    finally:
        consumer.close()
