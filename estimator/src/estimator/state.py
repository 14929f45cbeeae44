"""What every part of the estimator's loop shares: its clients, its window, the open transaction's state,
and whether Kafka answers. The loop is one object (one thread drives both Kafka clients), written in
parts by role: `txn_driver.py` (begin, commit, abort, resuming a call that timed out), `producing.py`
(the records), `rebalance.py` (partitions coming and going) and `service.py` (the loop itself).

Transactions take turns on a rotation of producers (`TRANSACTIONAL_IDS`, see `LoopState._take_turn`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from confluent_kafka import Consumer, Producer

from .config import Settings
from .health import Health, Metrics
from .log import log
from .serde import Contract, Decoder
from .txn import Backoff
from .window import TopicPartition, Window

# How long a commit (send_offsets + commit) may be retried before the transaction is aborted instead: well
# under transaction.timeout.ms, after which the broker would abort it anyway.
_TXN_BUDGET = 15.0

Pending = Literal["send_offsets", "commit", "abort", "init"]
Headers = list[tuple[str, str | bytes | None]]


class FatalKafkaError(Exception):
    """The producer is fenced or broken beyond repair: exit, a restart gets a fresh transactional epoch."""


class ProduceFailed(Exception):
    """A record could not be handed to the producer (not fatal): the transaction is aborted and redone."""


@dataclass(frozen=True, slots=True)
class Work:
    """One consumed record: its answer when it decoded, or why it is poison."""

    key: bytes | None
    value: bytes | None
    headers: Headers
    answer: dict[str, Any] | None  # the processed event to produce, or None for poison
    reason: str | None


class LoopState:
    def __init__(
        self,
        settings: Settings,
        consumer: Consumer,
        producers: Sequence[Producer],
        decoder: Decoder,
        output_contract: Contract,
        output_schema_id: int,
        metrics: Metrics,
        health: Health,
        *,
        clock: Callable[[], float] = time.monotonic,
        new_producer: Callable[[int], Producer] | None = None,
    ) -> None:
        """`producers`: one per transactional id of the rotation, in slot order, each initialised (fenced
        every older session of its id) before the loop starts. `new_producer(slot)` makes a replacement."""
        if not producers:
            raise ValueError("the rotation needs at least one producer")
        self._s = settings
        self._consumer = consumer
        self._rotation = list(producers)
        self._slot = len(producers) - 1  # the first transaction takes slot 0
        self._producer = self._rotation[self._slot]  # the one the open (or next pending) call runs on
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
        self._producer_seen = clock()  # the last time the producer itself got an answer (commit, metadata)
        # A producer that lost every broker is replaced, with the whole rotation, by new ones of the same
        # transactional ids (see txn_driver.py); the replaced ones are kept, never destroyed.
        self._new_producer = new_producer
        self._retired: list[Producer] = []
        self._attempt: Any = None  # the transactional call under way on its own thread (txn_driver.py)
        self._hold_until = 0.0  # no record is released before this (back-off after an abort)
        self._backoff = Backoff()
        self._txn_budget = min(_TXN_BUDGET, settings.transaction_timeout_ms / 1000 / 4)

    def _take_turn(self) -> None:
        """The next producer of the rotation takes the transaction about to begin.

        Why: the coordinator completes a committed transaction (markers, then COMPLETE_COMMIT replicated)
        20-40 ms after commit_transaction returns, and refuses the same id's next AddPartitionsToTxn with
        CONCURRENT_TRANSACTIONS until then (librdkafka retries every 20 ms); with N ids in turn, producer
        k's next transaction comes N transactions later. Exactly once is unchanged:
        - one transaction at a time: this is only called when none is open or pending (`_begin`), so the
          next begins after the previous one's commit or abort returned; a timed-out call is resumed on
          the producer it started on (`_producer` only moves here);
        - each transaction carries its own records and exactly their offsets, so an abort on producer k
          puts back exactly what k carried, as with one producer;
        - offsets of one partition committed by different ids: the group coordinator keeps the offset
          whose commit record is later in `__consumer_offsets`, whatever the order of the markers, and
          transaction t+1 sends its offsets after t's commit returned, so the committed offset only grows;
          read_committed readers see each output partition in log order (the LSO waits for t's marker);
        - fencing: every id of the rotation is initialised at start and whenever producers are replaced,
          before anything is produced, so a zombie of an earlier session is fenced on whichever id it uses,
          and a fenced (fatal) error on any producer exits as it did with one.
        """
        self._slot = (self._slot + 1) % len(self._rotation)
        self._producer = self._rotation[self._slot]

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

    def _stopping(self) -> bool:
        """A stop was asked outside the drain: retries end now, the drain has its own grace period."""
        return self._grace_end is None and self._stop is not None and self._stop.is_set()

    def _deadline(self) -> float:
        """How long a commit may keep retrying: its budget, and no later than the end of the grace period."""
        deadline = self._clock() + self._txn_budget
        if self._grace_end is not None:
            deadline = min(deadline, self._grace_end)
        return deadline
