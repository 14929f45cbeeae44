"""The estimator's loop: consume, wait each vehicle's delay in a bounded window, price, and commit outputs
with their consumed offsets in one Kafka transaction.

One thread does everything with the Kafka clients (librdkafka runs its own I/O threads underneath):
- every turn it fetches what the window has room for, so the consumer keeps polling while thousands of
  vehicles wait (the original estimator's per-message timers and auto-commit lost work on restart);
- records whose delay has passed are priced and produced inside the open transaction;
- every `commit_interval_ms` (or `commit_max_records`) the transaction commits with the contiguous finished
  prefix of each partition (`send_offsets_to_transaction`), so an output and the offset that consumed its
  input become visible together or not at all;
- an abortable error or a produce that fails locally (topic metadata lost while every broker was away)
  aborts the transaction and puts its records back, due after a growing back-off;
- a transactional call that times out (every broker away) stays *pending*: librdkafka continues it in the
  background and refuses any other transactional call until the same one is made again and finishes, so
  it is resumed with a short timeout every turn while the consumer keeps polling (rebalances are served,
  the process stays live and answers SIGTERM); nothing new is produced meanwhile;
- a fatal one (fenced by a newer instance with the same id) stops the process with a non-zero exit.
See `txn.py` for the error classes and the deadlines.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Consumer, KafkaError, KafkaException, Message, Producer
from confluent_kafka import TopicPartition as KafkaTopicPartition

from .config import Settings
from .health import Health, Metrics
from .log import log
from .processed import PROCESSED_EVENT_TYPE, UnreadableTime, processed_event
from .serde import Contract, Decoder, PoisonRecord, encode
from .txn import CALL_TIMEOUT, Action, Backoff, classify, error_of
from .window import Entry, TopicPartition, Window

_FETCH_BATCH = 500
_MAX_WAIT = 0.1  # longest a turn blocks in consume(): bounds commit latency and shutdown reaction
_LAG_EVERY = 5.0
# How long a commit (send_offsets + commit) may be retried before the transaction is aborted instead: well
# under transaction.timeout.ms, after which the broker would abort it anyway.
_TXN_BUDGET = 15.0
# A pending call that still does not finish this long after Kafka answers again (metadata, records) means
# the producer is stuck (seen after every broker restarted: its coordinator request never completes): exit,
# the restart's init_transactions fences the old epoch and aborts the transaction for us. While no broker
# answers at all the call simply stays pending, however long the outage.
_PENDING_STUCK = 30.0
_RETRY_GAP = 0.1  # between tries inside one bounded attempt (some failures come back at once)
_RETRY_LOG_EVERY = 5.0
_SEEN_RECENTLY = 1.0

Pending = Literal["send_offsets", "commit", "abort"]
# Delivery reports of records that our own abort purged from the queue: expected, not a new failure.
_PURGED = frozenset({KafkaError._PURGE_QUEUE, KafkaError._PURGE_INFLIGHT})


class FatalKafkaError(Exception):
    """The producer is fenced or broken beyond repair: exit, a restart gets a fresh transactional epoch."""


class _ProduceFailed(Exception):
    """A record could not be handed to the producer (not fatal): the transaction is aborted and redone."""


Headers = list[tuple[str, str | bytes | None]]


@dataclass(frozen=True, slots=True)
class Work:
    """One consumed record: its event when it decoded, or why it is poison."""

    key: bytes | None
    value: bytes | None
    headers: Headers
    answer: dict[str, Any] | None  # the processed event to produce, or None for poison
    reason: str | None


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
        self._stop: threading.Event | None = None
        self._txn_seq = 0  # which transaction a delivery report belongs to
        self._failed_delivery: str | None = None
        # The transactional call under way (resumed until it finishes), the offsets its transaction carries,
        # and why an abort is under way.
        self._pending: Pending | None = None
        self._txn_offsets: dict[TopicPartition, int] = {}
        self._abort_reason = ""
        # Why the open transaction must never commit (a partition it carries was revoked or lost), if so.
        self._doomed: str | None = None
        self._pending_answered: float | None = None  # when Kafka first answered while a call was pending
        self._last_retry_log = 0.0
        self._kafka_seen = clock()  # the last time Kafka answered (a record, a commit, a probe)
        self._hold_until = 0.0  # no record is released before this (back-off after an abort)
        self._backoff = Backoff()
        self._txn_budget = min(_TXN_BUDGET, settings.transaction_timeout_ms / 1000 / 4)

    # -- life cycle ----------------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        self._stop = stop
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
            if self._pending is not None:
                self._drive(grace_end)
            self._commit()
            if self._pending is not None:
                log.warn("estimator.pending_left", f"{self._pending} still pending at the end of the grace")
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
        if self._pending is not None:
            self._drive(self._clock())  # one short try: resumes the call librdkafka continued meanwhile
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
        if self._failed_delivery is not None and self._txn_open and self._pending is None:
            # The commit would only report it as abortable: abort now, without waiting for the interval.
            self._abort(f"delivery failed: {self._failed_delivery}")
        elif self._txn_open and (
            self._clock() - self._txn_started >= self._s.commit_interval_ms / 1000
            or self._txn_records >= self._s.commit_max_records
        ):
            self._commit()
        self._metrics.in_flight.set(self._window.in_flight)
        self._metrics.transaction_records.set(self._txn_records if self._txn_open else 0)
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
        self._kafka_seen = self._clock()
        if self._pending is not None and self._pending_answered is None:
            self._pending_answered = self._clock()
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
        if self._pending is not None:
            return wait  # nothing is released until the pending call finishes: poll, then resume it
        if next_due is not None:
            wait = min(wait, max(next_due, self._hold_until) - now)
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
        if not self._window.owns((topic, partition)):
            # Fetched before its partition was revoked or lost: the new owner reads it from the committed
            # offset; tracking it here would commit an offset of a partition this instance does not own.
            return
        headers = list(message.headers() or [])
        value = message.value()
        key = message.key()
        now = self._clock()
        try:
            # Priced on arrival: the answer depends on the record alone (see processed.py), and a time
            # that cannot be read is a reason to dead-letter, found before the record waits its delay.
            answer = processed_event(self._decoder.decode(value), self._s.estimate_delay_seconds)
        except (PoisonRecord, UnreadableTime) as poison:
            reason = poison.reason if isinstance(poison, PoisonRecord) else str(poison)
            work = Work(_as_bytes(key), _as_bytes(value), _header_bytes(headers), None, reason)
            self._window.add((topic, partition), offset, now, work)
            return
        work = Work(_as_bytes(key), _as_bytes(value), _header_bytes(headers), answer, None)
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
        if self._pending is not None or self._clock() < self._hold_until:
            return  # a transactional call is under way, or Kafka failed a moment ago: back off
        room = self._s.commit_max_records - self._txn_records
        for entry in self._window.pop_due(self._clock(), max(1, room)):
            # Popped entries belong to the open transaction from here on: an abort puts all back.
            try:
                self._begin()
                if entry.item.answer is not None:
                    self._produce_processed(entry)
                else:
                    self._produce_dead_letter(entry)
            except _ProduceFailed as failed:
                self._abort(str(failed))
                return
            if entry.item.answer is not None:
                self._txn_priced += 1
            self._window.finish(entry)
            self._txn_records += 1

    # -- producing -----------------------------------------------------------------------------------------

    def _produce_processed(self, entry: Entry[Work]) -> None:
        event = entry.item.answer
        assert event is not None
        headers = [
            ("event-id", event["eventId"].encode()),
            ("event-type", PROCESSED_EVENT_TYPE.encode()),
            ("content-type", b"application/json"),
        ]
        self._produce(
            self._s.output_topic,
            str(event["vehicle"]["id"]).encode(),
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
        seq = self._txn_seq
        while True:
            try:
                self._producer.produce(
                    topic,
                    value=value,
                    key=key,
                    headers=headers,
                    on_delivery=lambda error, message: self._delivered(seq, error, message),
                )
                return
            except BufferError:
                # The local queue is full: serve delivery reports until there is room again.
                if self._stopping():
                    raise _ProduceFailed("producer queue full while stopping") from None
                self._producer.poll(0.05)
            except KafkaException as failure:
                error = error_of(failure)
                if classify(error) is Action.FATAL:
                    raise FatalKafkaError(f"produce: {error.str()}") from failure
                # _UNKNOWN_TOPIC / _UNKNOWN_PARTITION after every broker was away, a transport error...:
                # the records are redone after a back-off.
                self._kafka_unavailable(f"produce: {error.str()}")
                if error.code() in (KafkaError._UNKNOWN_TOPIC, KafkaError._UNKNOWN_PARTITION):
                    self._refresh_metadata(topic)
                raise _ProduceFailed(f"produce to {topic}: {error.str()}") from failure

    def _refresh_metadata(self, topic: str) -> None:
        """A restarted broker may have answered 'unknown topic' before it loaded its logs; librdkafka then
        keeps refusing the topic until its next periodic refresh (minutes). Ask for it now."""
        try:
            self._producer.list_topics(topic, timeout=CALL_TIMEOUT)
        except KafkaException as failure:
            log.debug("producer.metadata", f"metadata of {topic}: {error_of(failure).str()}")

    def _delivered(self, seq: int, error: KafkaError | None, message: Message) -> None:
        if error is None or error.code() in _PURGED:
            return
        log.warn("producer.delivery_failed", error.str(), topic=message.topic(), code=error.code())
        if seq == self._txn_seq and self._txn_open and self._pending is None:
            # The transaction cannot commit with a failed record: turn() aborts it.
            self._failed_delivery = error.str()

    # -- transactions --------------------------------------------------------------------------------------

    def _begin(self) -> None:
        if self._txn_open:
            return
        try:
            self._producer.begin_transaction()
        except KafkaException as failure:
            error = error_of(failure)
            if classify(error) is Action.FATAL:
                raise FatalKafkaError(f"begin_transaction: {error.str()}") from failure
            raise _ProduceFailed(f"begin_transaction: {error.str()}") from failure
        self._txn_seq += 1
        self._txn_open = True
        self._failed_delivery = None
        self._txn_started = self._clock()
        self._txn_records = 0
        self._txn_priced = 0

    def _commit(self) -> None:
        """Commits the open transaction with every partition's finished prefix; aborts it on failure. A
        call that times out stays pending (see `_drive`)."""
        if self._pending is not None:
            return  # turn() resumes it first
        if self._doomed is not None:
            self._abort(self._doomed)
            return
        offsets = self._window.committable()
        if not self._txn_open and not offsets:
            return
        try:
            self._begin()
        except _ProduceFailed as failed:
            self._abort(str(failed))
            return
        self._txn_offsets = offsets
        self._start_pending("send_offsets" if offsets else "commit")
        self._drive(self._deadline())

    def _start_pending(self, call: Pending) -> None:
        self._pending = call
        self._pending_answered = None

    def _call(self, call: Pending, timeout: float) -> None:
        if self._kafka_down is not None or self._clock() - self._kafka_seen > _SEEN_RECENTLY:
            # librdkafka's transactional calls do not all honour their timeout: send_offsets waited 25 to
            # 41 s for a coordinator while every broker was down. A metadata request does; while it fails,
            # the call is not made (it stays pending, as if it had timed out). Only when Kafka has not
            # answered lately: under load a commit follows records read a moment ago, and a metadata
            # round trip per transaction would tax every commit.
            try:
                self._producer.list_topics(self._s.output_topic, timeout=min(1.0, timeout))
            except KafkaException as failure:
                raise KafkaException(
                    KafkaError(KafkaError._TIMED_OUT, f"no broker answers: {error_of(failure).str()}")
                ) from failure
        age = self._clock() - self._txn_started
        if self._txn_open and age >= self._s.transaction_timeout_ms / 1000:
            # Kafka answers, but the coordinator has aborted this transaction by its timeout and bumped the
            # epoch: the producer is fenced whatever it calls next (librdkafka: fatal), and some calls hung
            # instead of saying so. A restart gets a new epoch at once.
            raise FatalKafkaError(f"{call}: the transaction is {age:.0f} s old, past transaction.timeout.ms")
        if call == "send_offsets":
            tps = [KafkaTopicPartition(t, p, o) for (t, p), o in self._txn_offsets.items()]
            # The group metadata is read for every try: after a rebalance the generation has moved on, and
            # offsets sent with the old one are refused (ILLEGAL_GENERATION, abortable).
            self._producer.send_offsets_to_transaction(tps, self._consumer.consumer_group_metadata(), timeout)
        elif call == "commit":
            self._producer.commit_transaction(timeout)
        else:
            self._producer.abort_transaction(timeout)

    def _drive(self, deadline: float) -> None:
        """Makes the pending call until it finishes or `deadline` passes (at least one short try), each
        try bounded by CALL_TIMEOUT. A timed-out call stays pending for the next turn."""
        while self._pending is not None:
            call = self._pending
            started = self._clock()
            try:
                self._call(call, max(0.1, min(CALL_TIMEOUT, deadline - started)))
            except KafkaException as failure:
                error = error_of(failure)
                action = classify(error)
                if action is Action.FATAL:
                    raise FatalKafkaError(f"{call}: {error.str()}") from failure
                if action is Action.ABORT and call != "abort":
                    # Abortable: the transaction cannot commit (a record failed, the generation moved on).
                    self._abort_reason = error.str()
                    self._start_pending("abort")
                    continue
                self._still_pending(call, error)
                now = self._clock()
                if now >= deadline or self._stopping():
                    return
                time.sleep(max(0.0, min(_RETRY_GAP - (now - started), deadline - now)))
                continue
            if call == "send_offsets" and self._doomed is not None:
                # A partition whose offsets this call carried was revoked or lost meanwhile: abort.
                self._abort_reason = self._doomed
                self._start_pending("abort")
            elif call == "send_offsets":
                self._pending = "commit"
            elif call == "commit":
                self._pending = None
                self._committed()
            else:
                self._pending = None
                self._redo(self._abort_reason)

    def _still_pending(self, call: Pending, error: KafkaError) -> None:
        """A try timed out (or was refused for now): Kafka is not answering; exit if it is stuck."""
        self._kafka_unavailable(f"{call}: {error.str()}")
        self._health.turned()  # alive: each try is bounded
        now = self._clock()
        if self._pending_answered is not None and now - self._pending_answered >= _PENDING_STUCK:
            raise FatalKafkaError(
                f"{call} stuck {now - self._pending_answered:.0f} s while Kafka answers: {error.str()}"
            )
        if now - self._last_retry_log >= _RETRY_LOG_EVERY:
            self._last_retry_log = now
            log.warn("txn.retry", f"{call}: {error.str()}", code=error.code())

    def _committed(self) -> None:
        offsets, self._txn_offsets = self._txn_offsets, {}
        self._txn_open = False
        self._backoff.reset()
        self._kafka_available()
        self._window.committed(offsets)
        self._metrics.transactions.labels(outcome="committed").inc()
        self._metrics.processed.inc(self._txn_priced)
        log.debug("txn.committed", "committed", records=self._txn_records, offsets=_offsets_text(offsets))
        self._txn_records = 0
        self._txn_priced = 0

    def _stopping(self) -> bool:
        """A stop was asked outside the drain: retries end now, the drain has its own grace period."""
        return self._grace_end is None and self._stop is not None and self._stop.is_set()

    def _deadline(self) -> float:
        """How long a commit may keep retrying: its budget, and no later than the end of the grace period."""
        deadline = self._clock() + self._txn_budget
        if self._grace_end is not None:
            deadline = min(deadline, self._grace_end)
        return deadline

    def _abort(self, reason: str) -> None:
        """Aborts the open transaction and redoes its records (one short try here, resumed every turn
        while Kafka does not answer); without an open transaction only the records are put back."""
        if not self._txn_open:
            self._redo(reason)
            return
        if self._pending is None:
            self._abort_reason = reason
            self._start_pending("abort")
        self._drive(self._clock())

    def _redo(self, reason: str) -> None:
        self._txn_open = False
        self._txn_offsets = {}
        self._doomed = None
        self._failed_delivery = None
        self._txn_records = 0
        self._txn_priced = 0
        hold = self._backoff.next()
        self._hold_until = self._clock() + hold
        redo = self._window.aborted(self._hold_until)
        self._metrics.transactions.labels(outcome="aborted").inc()
        log.warn("txn.aborted", reason, redo=redo, retry_in=hold)

    # -- rebalancing (called from inside consume()) ---------------------------------------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[KafkaTopicPartition]) -> None:
        tps = [(p.topic, p.partition) for p in partitions]
        self._window.assign(tps)
        if self._paused and partitions:
            consumer.pause(partitions)
        log.info("partitions.assigned", f"{len(tps)} partitions assigned", partitions=_tps_text(tps))

    def _on_revoke(self, consumer: Consumer, partitions: list[KafkaTopicPartition]) -> None:
        tps = [(p.topic, p.partition) for p in partitions]
        if self._closing:  # shutdown() has just committed what it could; only the waiting work is left
            dropped = self._window.drop(tps)
        else:
            dropped = self._give_up(tps, "partitions revoked", self._deadline())
        self._forget_lag(tps)
        log.info(
            "partitions.revoked", f"{len(tps)} partitions revoked", partitions=_tps_text(tps), dropped=dropped
        )

    def _on_lost(self, consumer: Consumer, partitions: list[KafkaTopicPartition]) -> None:
        # Lost (session timed out): another member may own them already. One short try of the abort
        # here (the session is gone, nothing is gained by blocking), resumed in later turns.
        tps = [(p.topic, p.partition) for p in partitions]
        dropped = self._give_up(tps, "partitions lost", self._clock())
        self._forget_lag(tps)
        log.warn("partitions.lost", f"{len(tps)} partitions lost", partitions=_tps_text(tps), dropped=dropped)

    def _give_up(self, tps: list[TopicPartition], why: str, deadline: float) -> int:
        """Forgets partitions this instance no longer owns; aborts the open transaction if it carries any
        of their work. Returns how many of their records were waiting (the new owner redoes them).

        Why abort rather than commit: once this callback returns, the partitions may be assigned to the
        other instance, which starts from the group's committed offset and redoes what is not committed.
        Offsets of those partitions committed by this instance after that moment (a send_offsets resumed
        after a timeout reads the group metadata again and is accepted in the new generation) would skip
        records the new owner never saw, and outputs committed without their offsets would be produced a
        second time by the new owner. A transaction that never commits does neither: its outputs are
        never visible to read_committed readers, its offsets never move, and the new owner redoes the
        work from the committed offset, exactly once. (A read_committed consumer's offset fetch waits
        for a transaction holding offsets of its partitions to end, so the new owner does not start from
        offsets this instance is still sending.) The records of partitions still owned are put back and
        redone here (the price is a function of the record: same bytes).

        The one exception is a commit already under way: its offsets were sent while this instance still
        owned the partitions (any earlier revoke or loss would have doomed the transaction), so whichever
        way it ends is consistent; it is finished, not aborted (librdkafka refuses an abort meanwhile).
        A pending send_offsets must also finish first (the same refusal); the transaction is marked
        doomed so that `_drive` turns it into an abort instead of a commit.
        """
        gone = set(tps)
        carried = self._window.partitions_in_transaction() | set(self._txn_offsets)
        affected = self._txn_open and not gone.isdisjoint(carried)
        dropped = self._window.drop(tps)
        if affected and self._pending != "commit":
            self._doomed = f"{why} while the open transaction carried their work"
            if self._pending is None:
                self._start_pending("abort")
                self._abort_reason = self._doomed
        if self._pending is not None:
            self._drive(deadline)  # bounded: what does not finish is resumed in later turns
        return dropped

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
