"""The estimator's loop: consume, wait each vehicle's delay in a bounded window, price, and commit outputs
with their consumed offsets in one Kafka transaction.

One thread does everything with the Kafka clients (librdkafka runs its own I/O threads underneath):
- every turn it fetches what the window has room for, so the consumer keeps polling while thousands of
  vehicles wait (the original estimator's per-message timers and auto-commit lost work on restart);
- records whose delay has passed are priced and produced inside the open transaction;
- at the end of every turn that produced something (or after `commit_interval_ms`, when set, or
  `commit_max_records`) the transaction commits with the contiguous finished
  prefix of each partition (`send_offsets_to_transaction`), so an output and the offset that consumed its
  input become visible together or not at all;
- an abortable error or a produce that fails locally (topic metadata lost while every broker was away)
  aborts the transaction and puts its records back, due after a growing back-off;
- a transactional call that times out (every broker away) stays *pending*: librdkafka continues it in the
  background and refuses any other transactional call until the same one is made again and finishes, so
  it is resumed with a short timeout every turn while the consumer keeps polling (rebalances are served,
  the process stays live and answers SIGTERM); nothing new is produced meanwhile;
- a fatal one (fenced by a newer instance with the same id) stops the process with a non-zero exit.
Transactions take turns on a rotation of `TRANSACTIONAL_IDS` producers, one at a time (state.py).
See `txn.py` for the error classes and the deadlines.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, KafkaError, KafkaException, Message

from .log import log
from .processed import UnreadableTime, processed_event
from .producing import Producing
from .rebalance import Rebalancing
from .serde import PoisonRecord
from .state import FatalKafkaError, Headers, ProduceFailed, Work

__all__ = ["Estimator", "FatalKafkaError"]

_FETCH_BATCH = 500
_MAX_WAIT = 0.1  # longest a turn blocks in consume(): bounds commit latency and shutdown reaction
_LAG_EVERY = 5.0


class Estimator(Rebalancing, Producing):
    """The loop (see the module docstring); its parts by role are the classes it is made of."""

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
        flush_end = self._clock() + 5
        for producer in self._rotation:
            producer.flush(max(0.0, flush_end - self._clock()))
        log.info(
            "estimator.stopped",
            "left the group; abandoned records will be redone by the next owner",
            abandoned=abandoned,
        )

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
        for message in self._fetch(max(1, min(_FETCH_BATCH, room)), self._wait(now)):
            self._accept(message)
        self._release_due()
        for producer in self._rotation:  # delivery reports and client logs of each, the idle ones too
            producer.poll(0)
        if self._failed_delivery is not None and self._txn_open and self._pending is None:
            # The commit would only report it as abortable: abort now, without waiting for the interval.
            self._abort(f"delivery failed: {self._failed_delivery}")
        elif self._txn_open and (
            self._clock() - self._txn_started >= self._s.commit_interval_ms / 1000
            or self._txn_records >= self._s.commit_max_records
        ):
            # With the default interval 0 this is every turn that produced something: a commit is never
            # in flight here (the loop makes it, synchronously), and what arrives while it runs waits for
            # the next turn, so a transaction grows with the load by itself, up to COMMIT_MAX_RECORDS.
            started = self._clock()
            self._commit()
            self._metrics.commit_seconds.observe(self._clock() - started)
        self._metrics.in_flight.set(self._window.in_flight)
        self._metrics.transaction_records.set(self._txn_records if self._txn_open else 0)
        self._metrics.assigned.set(len(self._window.owned()))
        if self._clock() - self._last_lag >= _LAG_EVERY:
            self._report_lag()
            if self._kafka_down is not None:
                self._probe_kafka()

    def _fetch(self, most: int, timeout: float) -> list[Message]:
        """Up to `most` records, returning as soon as one is there. `consume(n, timeout)` waits until it
        has n records or the timeout has passed (measured: 2 s for one record that arrived after 0.2 s),
        which at low rates would hold every record for the whole timeout; `poll` returns at the first
        one, and what librdkafka has already fetched behind it is taken without waiting."""
        first = self._consumer.poll(timeout)
        if first is None:
            return []
        if most <= 1:
            return [first]
        return [first, *self._consumer.consume(num_messages=most - 1, timeout=0)]

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
            except ProduceFailed as failed:
                self._abort(str(failed))
                return
            if entry.item.answer is not None:
                self._txn_priced += 1
            self._window.finish(entry)
            self._txn_records += 1


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
