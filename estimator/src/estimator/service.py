"""The estimator's loop: consume, wait each vehicle's delay in a bounded window, price, and commit outputs
with their consumed offsets in one Kafka transaction.

One thread does everything with the Kafka clients (librdkafka runs its own I/O threads underneath):
- every turn it fetches what the window has room for, so the consumer keeps polling while thousands of
  vehicles wait (the original estimator's per-message timers and auto-commit lost work on restart);
- records whose delay has passed are priced and produced inside the open transaction;
- every `commit_interval_ms` (or `commit_max_records`) the transaction commits with the contiguous finished
  prefix of each partition (`send_offsets_to_transaction`), so an output and the offset that consumed its
  input become visible together or not at all;
- an abortable error aborts the transaction and puts its records back as due now; a fatal one (fenced by a
  newer instance with the same id) stops the process with a non-zero exit.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Consumer, KafkaError, KafkaException, Message, Producer
from confluent_kafka import TopicPartition as KafkaTopicPartition

from .config import Settings
from .health import Health, Metrics
from .log import log
from .pricing import estimate_price
from .serde import Contract, Decoder, PoisonRecord, encode
from .window import Entry, TopicPartition, Window

PROCESSED_EVENT_TYPE = "stock.vehicle-processed"
_FETCH_BATCH = 500
_MAX_WAIT = 0.1  # longest a turn blocks in consume(): bounds commit latency and shutdown reaction
_LAG_EVERY = 5.0
_TXN_TIMEOUT = 30.0  # one try of a transactional call; a few tries stay well inside max.poll.interval.ms
_TXN_ATTEMPTS = 5


class FatalKafkaError(Exception):
    """The producer is fenced or broken beyond repair: exit, a restart gets a fresh transactional epoch."""


Headers = list[tuple[str, str | bytes | None]]


@dataclass(frozen=True, slots=True)
class Work:
    """One consumed record: its event when it decoded, or why it is poison."""

    key: bytes | None
    value: bytes | None
    headers: Headers
    event: dict[str, Any] | None
    reason: str | None


def iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def processed_event(
    created: dict[str, Any], rng: random.Random, now: datetime | None = None
) -> dict[str, Any]:
    """The `stock.vehicle-processed` event answering one `stock.vehicle-created` event."""
    at = now or datetime.now(UTC)
    stamp = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    vehicle = created["vehicle"]
    price = estimate_price(
        year=int(vehicle["year"]),
        odometer=int(vehicle["odometer"]),
        unit=cast(Literal["km", "mi"], vehicle["odometerUnit"]),
        current_year=at.year,
        rng=rng,
    )
    return {
        "eventId": str(uuid.uuid4()),
        "occurredAt": stamp,
        "causationId": created["eventId"],
        "vehicle": vehicle,
        "price": {"amount": price.amount, "currency": price.currency},
        "estimatedAt": stamp,
    }


class Estimator:
    def __init__(
        self,
        settings: Settings,
        consumer: Consumer,
        producer: Producer,
        decoder: Decoder,
        output_contract: Contract,
        output_schema_id: int,
        metrics: Metrics,
        health: Health,
        *,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._s = settings
        self._consumer = consumer
        self._producer = producer
        self._decoder = decoder
        self._out_contract = output_contract
        self._out_id = output_schema_id
        self._metrics = metrics
        self._health = health
        self._rng = rng or random.Random()
        self._clock = clock
        self._window: Window[Work] = Window()
        self._txn_open = False
        self._txn_started = 0.0
        self._txn_records = 0
        self._txn_priced = 0
        self._paused = False
        self._fetching = True
        self._resume_below = max(0, settings.max_in_flight - max(1, settings.max_in_flight // 10))
        self._last_lag = 0.0
        self._kafka_down: str | None = None
        self._grace_end: float | None = None
        self._closing = False

    # -- life cycle ----------------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        self.start()
        while not stop.is_set():
            self.turn()
        self.shutdown()

    def start(self) -> None:
        self._consumer.subscribe(
            [self._s.input_topic], on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
        )
        self._health.ready = True
        self._health.reason = "consuming"
        log.info("estimator.started", "consuming", topic=self._s.input_topic, group=self._s.group_id)

    def shutdown(self) -> None:
        """Stop fetching, finish what is due within the grace period, commit it, leave the group."""
        grace_end = self._clock() + self._s.shutdown_grace_seconds
        self._grace_end = grace_end
        self._health.ready = False
        self._health.reason = "shutting down"
        self._fetching = False
        self._set_paused(True)
        log.info("estimator.draining", "stopped fetching", in_flight=self._window.in_flight)
        while self._window.in_flight > 0:
            next_due = self._window.next_due()
            if next_due is None or next_due > grace_end or self._clock() >= grace_end:
                break
            self.turn()
        try:
            self._commit()
        except (FatalKafkaError, KafkaException) as error:
            # Kafka did not answer within the grace period: nothing finished is lost, the broker aborts the
            # open transaction (or the next start fences it) and the records are redone.
            log.error("estimator.commit_failed", f"could not commit at shutdown: {error}")
        abandoned = self._window.in_flight
        self._closing = True
        # close() revokes the assignment; the revoke callback only drops what is left.
        self._consumer.close()
        self._producer.flush(5)
        log.info(
            "estimator.stopped",
            "left the group; abandoned records will be redone by the next owner",
            abandoned=abandoned,
        )

    # -- one turn of the loop -------------------------------------------------------------------------------

    def turn(self) -> None:
        self._health.turned()
        now = self._clock()
        in_flight = self._window.in_flight
        room = self._s.max_in_flight - in_flight
        # Pause when full, resume only below the low mark: pausing drops librdkafka's prefetched records,
        # so flapping at the boundary would refetch them every turn.
        if not self._fetching or room <= 0:
            self._set_paused(True)
        elif self._paused and in_flight <= self._resume_below:
            self._set_paused(False)
        for message in self._consumer.consume(
            num_messages=max(1, min(_FETCH_BATCH, room)), timeout=self._wait(now)
        ):
            self._accept(message)
        self._release_due()
        self._producer.poll(0)
        if self._txn_open and (
            self._clock() - self._txn_started >= self._s.commit_interval_ms / 1000
            or self._txn_records >= self._s.commit_max_records
        ):
            self._commit()
        self._metrics.in_flight.set(self._window.in_flight)
        self._metrics.assigned.set(len(self._window.owned()))
        if self._clock() - self._last_lag >= _LAG_EVERY:
            self._report_lag()
            if self._kafka_down is not None:
                self._probe_kafka()

    # -- readiness: Kafka answering ------------------------------------------------------------------------

    def _kafka_unavailable(self, why: str) -> None:
        if self._kafka_down is None:
            log.warn("kafka.unavailable", why)
        self._kafka_down = why
        if self._fetching:
            self._health.ready = False
            self._health.reason = f"kafka unavailable: {why}"

    def _kafka_available(self) -> None:
        if self._kafka_down is None:
            return
        log.info("kafka.available", "Kafka answers again", was=self._kafka_down)
        self._kafka_down = None
        if self._fetching:
            self._health.ready = True
            self._health.reason = "consuming"

    def _probe_kafka(self) -> None:
        """While idle nothing else would notice the brokers are back: ask for the input topic's metadata."""
        try:
            self._consumer.list_topics(self._s.input_topic, timeout=2.0)
        except KafkaException:
            return
        self._kafka_available()

    @property
    def in_flight(self) -> int:
        return self._window.in_flight

    def _wait(self, now: float) -> float:
        """How long consume() may block: not past the next due record or the open transaction's commit."""
        wait = _MAX_WAIT
        next_due = self._window.next_due()
        if next_due is not None:
            wait = min(wait, next_due - now)
        if self._txn_open:
            wait = min(wait, self._txn_started + self._s.commit_interval_ms / 1000 - now)
        return max(0.0, wait)

    def _accept(self, message: Message) -> None:
        error = message.error()
        if error is not None:
            if error.fatal():
                raise FatalKafkaError(f"consumer: {error.str()}")
            log.warn("consumer.error", error.str(), code=error.code())
            if error.code() == KafkaError._ALL_BROKERS_DOWN:
                self._kafka_unavailable(error.str())
            return
        self._kafka_available()
        topic, partition, offset = message.topic(), message.partition(), message.offset()
        assert topic is not None
        assert partition is not None
        assert offset is not None
        headers = list(message.headers() or [])
        value = message.value()
        key = message.key()
        now = self._clock()
        try:
            event = self._decoder.decode(value)
        except PoisonRecord as poison:
            work = Work(_as_bytes(key), _as_bytes(value), _header_bytes(headers), None, poison.reason)
            self._window.add((topic, partition), offset, now, work)
            return
        work = Work(_as_bytes(key), _as_bytes(value), _header_bytes(headers), event, None)
        self._window.add((topic, partition), offset, now + self._delay_left(message), work)

    def _delay_left(self, message: Message) -> float:
        """The delay counts from when the record was written: a record redelivered after a crash or a
        rebalance has already waited, so it is not made to wait a second full delay."""
        delay = self._s.estimate_delay_seconds
        kind, stamp = message.timestamp()
        if kind == TIMESTAMP_NOT_AVAILABLE or stamp <= 0:
            return delay
        return min(delay, max(0.0, stamp / 1000 + delay - time.time()))

    def _release_due(self) -> None:
        room = self._s.commit_max_records - self._txn_records
        for entry in self._window.pop_due(self._clock(), max(1, room)):
            self._begin()
            if entry.item.event is not None:
                self._produce_processed(entry)
                self._txn_priced += 1
            else:
                self._produce_dead_letter(entry)
            self._window.finish(entry)
            self._txn_records += 1

    # -- producing -----------------------------------------------------------------------------------------

    def _produce_processed(self, entry: Entry[Work]) -> None:
        created = entry.item.event
        assert created is not None
        event = processed_event(created, self._rng)
        headers = [
            ("event-id", event["eventId"].encode()),
            ("event-type", PROCESSED_EVENT_TYPE.encode()),
            ("content-type", b"application/json"),
        ]
        self._produce(
            self._s.output_topic,
            str(created["vehicle"]["id"]).encode(),
            encode(self._out_id, self._out_contract, event),
            headers,
        )

    def _produce_dead_letter(self, entry: Entry[Work]) -> None:
        work = entry.item
        topic, partition = entry.tp
        reason = work.reason or "unknown"
        headers = [
            *work.headers,
            ("dlq-reason", reason.encode()),
            ("dlq-source-topic", topic.encode()),
            ("dlq-source-partition", str(partition).encode()),
            ("dlq-source-offset", str(entry.offset).encode()),
        ]
        # A keyless source record still needs a key: its coordinates are unique and stable.
        key = work.key if work.key is not None else f"{topic}/{partition}/{entry.offset}".encode()
        self._produce(self._s.dead_letter_topic, key, work.value, headers)
        self._metrics.dlq.labels(reason_kind=_reason_kind(reason)).inc()
        log.warn(
            "record.dead_lettered",
            reason,
            topic=topic,
            partition=partition,
            offset=entry.offset,
            dlq=self._s.dead_letter_topic,
        )

    def _produce(self, topic: str, key: bytes, value: bytes | None, headers: Headers) -> None:
        while True:
            try:
                self._producer.produce(
                    topic, value=value, key=key, headers=headers, on_delivery=self._delivered
                )
                return
            except BufferError:
                # The local queue is full: serve delivery reports until there is room again.
                self._producer.poll(0.05)

    def _delivered(self, error: KafkaError | None, message: Message) -> None:
        if error is not None:
            # The transaction cannot commit with a failed record; commit_transaction reports it as abortable.
            log.warn("producer.delivery_failed", error.str(), topic=message.topic())

    # -- transactions --------------------------------------------------------------------------------------

    def _begin(self) -> None:
        if self._txn_open:
            return
        self._producer.begin_transaction()
        self._txn_open = True
        self._txn_started = self._clock()
        self._txn_records = 0
        self._txn_priced = 0

    def _commit(self) -> None:
        """Commits the open transaction with every partition's finished prefix; aborts it on failure."""
        offsets = self._window.committable()
        if not self._txn_open and not offsets:
            return
        self._begin()
        metadata = self._consumer.consumer_group_metadata()
        try:
            if offsets:
                tps = [KafkaTopicPartition(t, p, o) for (t, p), o in offsets.items()]
                self._retrying(
                    "send_offsets",
                    lambda: self._producer.send_offsets_to_transaction(tps, metadata, self._call_timeout()),
                )
            self._retrying("commit", lambda: self._producer.commit_transaction(self._call_timeout()))
        except KafkaException as failure:
            error: KafkaError = failure.args[0]
            if error.fatal():
                raise FatalKafkaError(f"transaction: {error.str()}") from failure
            # Abortable, or retriable but still failing: abort, and redo the records from this transaction.
            self._abort(error.str())
            return
        self._txn_open = False
        self._kafka_available()
        self._window.committed(offsets)
        self._metrics.transactions.labels(outcome="committed").inc()
        self._metrics.processed.inc(self._txn_priced)
        log.debug("txn.committed", "committed", records=self._txn_records, offsets=_offsets_text(offsets))
        self._txn_records = 0
        self._txn_priced = 0

    def _call_timeout(self) -> float:
        """While draining, a call may only use what is left of the grace period (at least a second)."""
        if self._grace_end is None:
            return _TXN_TIMEOUT
        return max(1.0, min(_TXN_TIMEOUT, self._grace_end - self._clock()))

    def _retrying(self, what: str, call: Callable[[], None], attempts: int = _TXN_ATTEMPTS) -> None:
        """librdkafka marks some transactional errors retriable (timeouts, coordinator moving): call again.
        Past the grace period of a shutdown there is no second try: exiting leaves the transaction to be
        aborted by the broker (or fenced by the next start), which loses nothing."""
        for attempt in range(1, attempts + 1):
            if attempt > 1 and self._grace_end is not None and self._clock() >= self._grace_end:
                raise KafkaException(KafkaError(KafkaError._TIMED_OUT, f"{what}: shutdown grace period over"))
            try:
                call()
                return
            except KafkaException as failure:
                error: KafkaError = failure.args[0]
                if (
                    attempt == attempts
                    or error.fatal()
                    or error.txn_requires_abort()
                    or not error.retriable()
                ):
                    raise
                log.warn("txn.retry", f"{what}: {error.str()}", attempt=attempt)
                self._kafka_unavailable(f"{what}: {error.str()}")
                self._health.turned()  # alive: retrying, each try bounded by its timeout

    def _abort(self, reason: str) -> None:
        try:
            # Brokers may be down: the abort is retried like a commit (each try bounded by its timeout).
            self._retrying(
                "abort", lambda: self._producer.abort_transaction(self._call_timeout()), attempts=8
            )
        except KafkaException as failure:
            raise FatalKafkaError(f"abort failed: {failure.args[0].str()}") from failure
        self._txn_open = False
        self._txn_records = 0
        self._txn_priced = 0
        redo = self._window.aborted(self._clock())
        self._metrics.transactions.labels(outcome="aborted").inc()
        log.warn("txn.aborted", reason, redo=redo)

    # -- rebalancing (called from inside consume()) ---------------------------------------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[KafkaTopicPartition]) -> None:
        tps = [(p.topic, p.partition) for p in partitions]
        self._window.assign(tps)
        if self._paused and partitions:
            consumer.pause(partitions)
        log.info("partitions.assigned", f"{len(tps)} partitions assigned", partitions=_tps_text(tps))

    def _on_revoke(self, consumer: Consumer, partitions: list[KafkaTopicPartition]) -> None:
        # Still the owner here: commit what finished (for every owned partition), then forget the revoked
        # ones so no later transaction carries their offsets. Their waiting records go to the new owner.
        tps = [(p.topic, p.partition) for p in partitions]
        if not self._closing:  # when closing, shutdown() has just committed
            self._commit()
        dropped = self._window.drop(tps)
        self._forget_lag(tps)
        log.info(
            "partitions.revoked", f"{len(tps)} partitions revoked", partitions=_tps_text(tps), dropped=dropped
        )

    def _on_lost(self, consumer: Consumer, partitions: list[KafkaTopicPartition]) -> None:
        # Lost (session timed out): another member may own them already, so their offsets must not be
        # committed. Abort the open transaction; work of partitions still owned is put back as due.
        tps = [(p.topic, p.partition) for p in partitions]
        dropped = self._window.drop(tps)
        if self._txn_open:
            self._abort("partitions lost")
        self._forget_lag(tps)
        log.warn("partitions.lost", f"{len(tps)} partitions lost", partitions=_tps_text(tps), dropped=dropped)

    def _set_paused(self, paused: bool) -> None:
        if paused == self._paused:
            return
        assignment = self._consumer.assignment()
        if paused:
            self._consumer.pause(assignment)
        else:
            self._consumer.resume(assignment)
        self._paused = paused
        self._metrics.paused.set(1 if paused else 0)
        log.debug(
            "fetch.paused" if paused else "fetch.resumed", "window full" if paused else "window has room"
        )

    # -- metrics ---------------------------------------------------------------------------------------------

    def _report_lag(self) -> None:
        self._last_lag = self._clock()
        for tp in self._window.owned():
            topic, partition = tp
            try:
                _, high = self._consumer.get_watermark_offsets(
                    KafkaTopicPartition(topic, partition), cached=True
                )
            except KafkaException:
                continue
            floor = self._window.committed_offset(tp)
            if high is None or high < 0 or floor is None:
                continue
            self._metrics.lag.labels(topic=topic, partition=str(partition)).set(max(0, high - floor))

    def _forget_lag(self, tps: list[TopicPartition]) -> None:
        for topic, partition in tps:
            with contextlib.suppress(KeyError):
                self._metrics.lag.remove(topic, str(partition))


def _as_bytes(value: str | bytes | None) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    return value.encode()


def _header_bytes(headers: Sequence[Sequence[str | bytes | None]]) -> Headers:
    out: Headers = []
    for name, value in headers:
        out.append(
            (
                name if isinstance(name, str) else (name or b"").decode("utf-8", "replace"),
                _as_bytes(value) or b"",
            )
        )
    return out


def _reason_kind(reason: str) -> str:
    for kind in (
        "magic byte",
        "unknown schema id",
        "violated",
        "contract",
        "not JSON",
        "UTF-8",
        "header",
        "tombstone",
    ):
        if kind in reason:
            return kind.replace(" ", "_")
    return "other"


def _tps_text(tps: list[TopicPartition]) -> str:
    return ",".join(f"{t}[{p}]" for t, p in sorted(tps))


def _offsets_text(offsets: dict[TopicPartition, int]) -> str:
    return ",".join(f"{t}[{p}]@{o}" for (t, p), o in sorted(offsets.items()))
