"""The transaction driver: begin, commit with the window's finished prefix, abort and redo, and resuming
a transactional call that timed out.

- every commit sends each partition's contiguous finished prefix (`send_offsets_to_transaction`) with the
  group metadata read again for every try, then commits, so an output and the offset that consumed its
  input become visible together or not at all;
- an abortable error aborts the transaction and puts its records back, due after a growing back-off;
- a call that times out (every broker away) stays *pending*: librdkafka continues it in the background
  and refuses any other transactional call until the same one is made again and finishes, so it is
  resumed with a short timeout every turn while the consumer keeps polling;
- a pending call that does not finish while Kafka answers the consumer means the producer itself is
  broken (after a whole-cluster restart a broker that had just started answered librdkafka's metadata
  request with no brokers and the topic unknown; the producer retired every broker it knew and had nobody
  left to ask): the whole rotation is replaced by new producers with the same transactional ids, each
  initialised in turn before anything is produced (fencing the old ones and aborting the open
  transaction), and the records are redone;
- a fatal one (fenced by a newer instance with the same id) stops the process with a non-zero exit.
See `txn.py` for the error classes and the deadlines.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka import TopicPartition as KafkaTopicPartition

from .log import log
from .state import FatalKafkaError, LoopState, Pending, ProduceFailed
from .txn import CALL_TIMEOUT, Action, classify, error_of
from .window import TopicPartition

# A pending call that still does not finish this long after Kafka answers again (metadata, records) means
# the producer is stuck (seen after every broker restarted: it had no broker left to ask): it is replaced.
# While no broker answers at all the call simply stays pending, however long the outage.
_PENDING_STUCK = 15.0
# Replaced producers are kept (destroying one waits for broker threads that may never end); past this many
# replacements of the rotation the process exits instead and the supervisor starts it again.
_MOST_RENEWALS = 3
_RETRY_GAP = 0.1  # between tries inside one bounded attempt (some failures come back at once)
_RETRY_LOG_EVERY = 5.0
_SEEN_RECENTLY = 1.0
_RETURN_GRACE = 0.5  # past a call's own timeout before the loop stops waiting for it


class _Attempt:
    """One transactional call on a thread of its own: librdkafka does not honour every call's timeout
    (send_offsets waited for minutes on a coordinator it had no broker for), and the loop must keep turning
    meanwhile. A call not back in time stays the attempt of its pending call, waited for again at the
    next try instead of being made twice; if it never returns, its producer is replaced."""

    def __init__(self, call: Pending, run: Callable[[], None]) -> None:
        self.call = call
        self.done = threading.Event()
        self.error: BaseException | None = None
        self._run = run
        threading.Thread(target=self._main, name=f"txn-{call}", daemon=True).start()

    def _main(self) -> None:
        try:
            self._run()
        except BaseException as error:  # handed to the loop's thread as it is
            self.error = error
        finally:
            self.done.set()


class TransactionDriver(LoopState):
    def _begin(self) -> None:
        if self._txn_open:
            return
        self._take_turn()  # never with a call pending: see the callers and state.py
        try:
            self._producer.begin_transaction()
        except KafkaException as failure:
            error = error_of(failure)
            if classify(error) is Action.FATAL:
                raise FatalKafkaError(f"begin_transaction: {error.str()}") from failure
            raise ProduceFailed(f"begin_transaction: {error.str()}") from failure
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
        except ProduceFailed as failed:
            self._abort(str(failed))
            return
        self._txn_offsets = offsets
        self._start_pending("send_offsets" if offsets else "commit")
        self._drive(self._deadline())

    def _start_pending(self, call: Pending) -> None:
        self._pending = call
        self._pending_answered = None

    def _call(self, call: Pending, timeout: float) -> None:
        if self._kafka_down is not None or self._clock() - self._producer_seen > _SEEN_RECENTLY:
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
            self._producer_seen = self._clock()
        age = self._clock() - self._txn_started
        if self._txn_open and age >= self._s.transaction_timeout_ms / 1000:
            # Kafka answers, but the coordinator has aborted this transaction by its timeout and bumped the
            # epoch: the producer is fenced whatever it calls next (librdkafka: fatal), and some calls hung
            # instead of saying so. A restart gets a new epoch at once.
            raise FatalKafkaError(f"{call}: the transaction is {age:.0f} s old, past transaction.timeout.ms")
        attempt = self._attempt
        if attempt is None or attempt.call != call:
            attempt = self._attempt = _Attempt(call, self._transactional_call(call, timeout))
        if not attempt.done.wait(timeout + _RETURN_GRACE):
            raise KafkaException(
                KafkaError(KafkaError._TIMED_OUT, f"{call} has not returned", retriable=True)
            )
        self._attempt = None
        if attempt.error is not None:
            raise attempt.error

    def _transactional_call(self, call: Pending, timeout: float) -> Callable[[], None]:
        producer = self._producer
        if call == "send_offsets":
            tps = [KafkaTopicPartition(t, p, o) for (t, p), o in self._txn_offsets.items()]
            # The group metadata is read for every try: after a rebalance the generation has moved on, and
            # offsets sent with the old one are refused (ILLEGAL_GENERATION, abortable).
            group = self._consumer.consumer_group_metadata()
            return lambda: producer.send_offsets_to_transaction(tps, group, timeout)
        if call == "commit":
            return lambda: producer.commit_transaction(timeout)
        if call == "init":
            return lambda: producer.init_transactions(timeout)
        return lambda: producer.abort_transaction(timeout)

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
            elif call == "init":
                self._producer_seen = self._clock()
                self._init_next()
            else:
                self._pending = None
                self._redo(self._abort_reason)

    def _still_pending(self, call: Pending, error: KafkaError) -> None:
        """A try timed out (or was refused for now): Kafka is not answering; exit if it is stuck."""
        self._kafka_unavailable(f"{call}: {error.str()}")
        self._health.turned()  # alive: each try is bounded
        now = self._clock()
        if self._pending_answered is not None and now - self._pending_answered >= _PENDING_STUCK:
            self._renew_producer(
                f"{call} stuck {now - self._pending_answered:.0f} s while Kafka answers: {error.str()}"
            )
        if now - self._last_retry_log >= _RETRY_LOG_EVERY:
            self._last_retry_log = now
            log.warn("txn.retry", f"{call}: {error.str()}", code=error.code())

    def _renew_producer(self, why: str) -> None:
        """Replaces a producer that cannot reach Kafka while the consumer can, with the rest of the rotation
        (they lost the same brokers, and every id is initialised again as at start). Each new one's
        init_transactions (pending until it finishes, one after the other) fences the old one's epoch and
        aborts an open transaction, whose records are redone from here: nothing it held was committed."""
        if self._new_producer is None or len(self._retired) >= _MOST_RENEWALS * len(self._rotation):
            raise FatalKafkaError(why)
        log.warn("producer.renewing", f"{why}; replacing the producers", retired=len(self._retired))
        for old in self._rotation:
            old.purge(in_queue=True, in_flight=True, blocking=False)
        self._retired.extend(self._rotation)
        self._attempt = None  # a call still blocked in an old producer stays there
        self._rotation = [self._new_producer(slot) for slot in range(len(self._rotation))]
        self._redo(why)
        self._slot = -1
        self._init_next()

    def _init_next(self) -> None:
        """After a renewal: init_transactions on the next producer of the rotation, pending until it
        finishes; once the last has, transactions begin again from slot 0."""
        if self._slot + 1 >= len(self._rotation):
            self._pending = None
            log.info("producer.renewed", "the new producers hold every transactional id")
            return
        self._slot += 1
        self._producer = self._rotation[self._slot]
        self._start_pending("init")

    def _committed(self) -> None:
        offsets, self._txn_offsets = self._txn_offsets, {}
        self._txn_open = False
        self._producer_seen = self._clock()
        self._backoff.reset()
        self._kafka_available()
        self._window.committed(offsets)
        self._metrics.transactions.labels(outcome="committed").inc()
        self._metrics.processed.inc(self._txn_priced)
        log.debug("txn.committed", "committed", records=self._txn_records, offsets=_offsets_text(offsets))
        self._txn_records = 0
        self._txn_priced = 0

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


def _offsets_text(offsets: dict[TopicPartition, int]) -> str:
    return ",".join(f"{t}[{p}]@{o}" for (t, p), o in sorted(offsets.items()))
