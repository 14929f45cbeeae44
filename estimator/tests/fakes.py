"""In-memory stand-ins for confluent-kafka's Consumer and transactional Producer, for the loop's unit tests.

They keep only what the loop's contract needs: records handed out in order per partition, pause/resume,
rebalance callbacks on demand, and transactions whose records and offsets become visible only on commit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from confluent_kafka import TIMESTAMP_CREATE_TIME, KafkaError, KafkaException, TopicPartition

Callback = Callable[[object, list[TopicPartition]], None]


@dataclass
class FakeMessage:
    _topic: str
    _partition: int
    _offset: int
    _key: bytes | None
    _value: bytes | None
    _headers: list[tuple[str, bytes]] = field(default_factory=list)
    _timestamp_ms: int = field(default_factory=lambda: int(time.time() * 1000))

    def error(self) -> None:
        return None

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes | None:
        return self._key

    def value(self) -> bytes | None:
        return self._value

    def headers(self) -> list[tuple[str, bytes]]:
        return self._headers

    def timestamp(self) -> tuple[int, int]:
        return (TIMESTAMP_CREATE_TIME, self._timestamp_ms)


class FakeConsumer:
    def __init__(self) -> None:
        self.queues: dict[tuple[str, int], list[FakeMessage]] = {}
        self.assigned: list[tuple[str, int]] = []
        self.paused: set[tuple[str, int]] = set()
        self.asked: list[int] = []
        self.closed = False
        self.on_assign: Callback | None = None
        self.on_revoke: Callback | None = None
        self.on_lost: Callback | None = None
        self.pending_assign: list[tuple[str, int]] = []
        self.next_offsets: dict[tuple[str, int], int] = {}
        self.probes = 0
        self.generation = 1  # the group generation; every rebalance moves it on
        self.brokers_down = False  # metadata requests fail

    def push(
        self,
        topic: str,
        partition: int,
        key: bytes | None,
        value: bytes | None,
        *,
        offset: int | None = None,
        _headers: list[tuple[str, bytes]] | None = None,
        _timestamp_ms: int | None = None,
    ) -> FakeMessage:
        queue = self.queues.setdefault((topic, partition), [])
        if offset is None:
            offset = self.next_offsets.get((topic, partition), 0)
        self.next_offsets[(topic, partition)] = offset + 1
        message = FakeMessage(topic, partition, offset, key, value, _headers or [])
        if _timestamp_ms is not None:
            message._timestamp_ms = _timestamp_ms
        queue.append(message)
        return message

    def subscribe(
        self, topics: list[str], on_assign: Callback, on_revoke: Callback, on_lost: Callback
    ) -> None:
        self.on_assign, self.on_revoke, self.on_lost = on_assign, on_revoke, on_lost

    def assign_now(self, tps: list[tuple[str, int]]) -> None:
        self.pending_assign.extend(tps)

    def revoke_now(self, tps: list[tuple[str, int]]) -> None:
        assert self.on_revoke is not None
        self.on_revoke(self, [TopicPartition(t, p) for t, p in tps])
        self.assigned = [tp for tp in self.assigned if tp not in tps]
        self.generation += 1

    def lose_now(self, tps: list[tuple[str, int]]) -> None:
        """The session timed out: the partitions are gone (maybe owned elsewhere already)."""
        assert self.on_lost is not None
        self.on_lost(self, [TopicPartition(t, p) for t, p in tps])
        self.assigned = [tp for tp in self.assigned if tp not in tps]
        self.generation += 1

    def consume(self, num_messages: int, timeout: float) -> list[FakeMessage]:
        self.asked.append(num_messages)
        if self.pending_assign:
            tps, self.pending_assign = self.pending_assign, []
            self.assigned.extend(tps)
            assert self.on_assign is not None
            self.on_assign(self, [TopicPartition(t, p) for t, p in tps])
        out: list[FakeMessage] = []
        for tp in self.assigned:
            if tp in self.paused:
                continue
            queue = self.queues.get(tp, [])
            while queue and len(out) < num_messages:
                out.append(queue.pop(0))
        if not out and timeout > 0:
            time.sleep(min(timeout, 0.01))
        return out

    def poll(self, timeout: float) -> FakeMessage | None:
        out = self.consume(1, timeout)
        return out[0] if out else None

    def assignment(self) -> list[TopicPartition]:
        return [TopicPartition(t, p) for t, p in self.assigned]

    def pause(self, partitions: list[TopicPartition]) -> None:
        self.paused.update((p.topic, p.partition) for p in partitions)

    def resume(self, partitions: list[TopicPartition]) -> None:
        self.paused.difference_update((p.topic, p.partition) for p in partitions)

    def consumer_group_metadata(self) -> str:
        return f"generation-{self.generation}"

    def get_watermark_offsets(self, tp: TopicPartition, cached: bool = False) -> tuple[int, int]:
        return (0, 0)

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> object:
        self.probes += 1
        if self.brokers_down:
            raise KafkaException(KafkaError(KafkaError._TRANSPORT, "all brokers down"))
        return object()

    def close(self) -> None:
        if self.on_revoke is not None and self.assigned:
            self.on_revoke(self, self.assignment())
        self.assigned = []
        self.closed = True


@dataclass
class Produced:
    topic: str
    key: bytes
    value: bytes | None
    headers: list[tuple[str, bytes]]


class FakeProducer:
    """Records of a committed transaction land in `committed`; offsets land in `offsets`.

    Like librdkafka, a transactional call that timed out is still under way: until the same call is made
    again and finishes, any other transactional call is refused with `_CONFLICT` (retriable)."""

    def __init__(self) -> None:
        self.open: list[Produced] = []
        self.open_offsets: dict[tuple[str, int], int] = {}
        self.committed: list[Produced] = []
        self.offsets: dict[tuple[str, int], int] = {}
        self.in_txn = False
        self.fail_next_commits = 0
        self.time_out_next_calls = 0  # commit/abort calls that time out (retriable), as with brokers down
        self.time_out_commits = 0  # commit calls only
        self.time_out_aborts = 0  # abort calls only
        self.time_out_send_offsets = 0  # send_offsets calls only (the offsets are taken all the same)
        self.produce_errors: list[KafkaError] = []  # raised by the next produce() calls, in order
        self.commit_errors: list[KafkaError] = []  # raised by the next commit_transaction() calls
        # The group's current metadata: offsets sent with another generation are refused, as the broker does.
        self.current_group: Callable[[], object] | None = None
        self.delivery_errors: list[KafkaError] = []  # reported for the next produced records
        self.reports: list[tuple[object, KafkaError | None]] = []
        self.failed_delivery = False
        self.begun = 0
        self.metadata_requests: list[str | None] = []
        self.commits = 0
        self.aborts = 0
        self.under_way: str | None = None  # the timed-out call librdkafka goes on with
        self.conflicts = 0
        self.inits = 0
        self.purged = False

    def _api(self, name: str) -> None:
        if self.under_way is not None and self.under_way != name:
            self.conflicts += 1
            raise KafkaException(
                KafkaError(
                    KafkaError._CONFLICT,
                    f"Conflicting {self.under_way} API call is already in progress",
                    retriable=True,
                )
            )
        self.under_way = None

    def _timed_out(self, name: str, what: str) -> KafkaException:
        self.under_way = name
        return KafkaException(KafkaError(KafkaError._TIMED_OUT, f"injected: {what}", retriable=True))

    def begin_transaction(self) -> None:
        self._api("begin_transaction")
        assert not self.in_txn, "begin_transaction inside an open transaction"
        self.in_txn = True
        self.begun += 1

    def produce(
        self,
        topic: str,
        value: bytes | None,
        key: bytes,
        headers: list[tuple[str, bytes]],
        on_delivery: object,
    ) -> None:
        assert self.in_txn, "produce outside a transaction"
        if self.produce_errors:
            raise KafkaException(self.produce_errors.pop(0))
        self.open.append(Produced(topic, key, value, list(headers)))
        error = self.delivery_errors.pop(0) if self.delivery_errors else None
        self.reports.append((on_delivery, error))

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> object:
        self.metadata_requests.append(topic)
        return object()

    def poll(self, timeout: float) -> int:
        reports, self.reports = self.reports, []
        for callback, error in reports:
            if error is not None and error.code() not in (
                KafkaError._PURGE_QUEUE,
                KafkaError._PURGE_INFLIGHT,
            ):
                self.failed_delivery = True
            cast(Callable[[KafkaError | None, object], None], callback)(error, FakeDelivered())
        return len(reports)

    def flush(self, timeout: float) -> int:
        return 0

    def send_offsets_to_transaction(
        self, offsets: list[TopicPartition], metadata: object, timeout: float
    ) -> None:
        self._api("send_offsets_to_transaction")
        assert self.in_txn
        assert str(metadata).startswith("generation-")
        if self.current_group is not None and metadata != self.current_group():
            raise KafkaException(
                KafkaError(
                    KafkaError.ILLEGAL_GENERATION,
                    "Specified group generation id is not valid",
                    txn_requires_abort=True,
                )
            )
        for tp in offsets:
            self.open_offsets[(tp.topic, tp.partition)] = tp.offset
        if self.time_out_send_offsets > 0:
            # librdkafka goes on with the call in the background: the offsets join the transaction.
            self.time_out_send_offsets -= 1
            raise self._timed_out("send_offsets_to_transaction", "send_offsets timed out")

    def _maybe_time_out(self, name: str) -> None:
        if self.time_out_next_calls > 0:
            self.time_out_next_calls -= 1
            raise self._timed_out(name, "timed out")

    def commit_transaction(self, timeout: float) -> None:
        self._api("commit_transaction")
        assert self.in_txn
        self._maybe_time_out("commit_transaction")
        if self.time_out_commits > 0:
            self.time_out_commits -= 1
            raise self._timed_out("commit_transaction", "commit timed out")
        if self.commit_errors:
            raise KafkaException(self.commit_errors.pop(0))
        if self.failed_delivery:
            raise KafkaException(
                KafkaError(KafkaError._INCONSISTENT, "a record failed delivery", txn_requires_abort=True)
            )
        if self.fail_next_commits > 0:
            self.fail_next_commits -= 1
            raise KafkaException(
                KafkaError(KafkaError._STATE, "injected: commit failed", txn_requires_abort=True)
            )
        self.committed.extend(self.open)
        for tp, offset in self.open_offsets.items():
            assert offset >= self.offsets.get(tp, 0), f"offset of {tp} went back"
            self.offsets[tp] = offset
        self._reset()
        self.commits += 1

    def abort_transaction(self, timeout: float) -> None:
        self._api("abort_transaction")
        assert self.in_txn
        self._maybe_time_out("abort_transaction")
        if self.time_out_aborts > 0:
            self.time_out_aborts -= 1
            raise self._timed_out("abort_transaction", "abort timed out")
        self._reset()
        self.aborts += 1

    def init_transactions(self, timeout: float) -> None:
        self._api("init_transactions")
        self.inits += 1

    def purge(self, in_queue: bool = True, in_flight: bool = True, blocking: bool = True) -> None:
        self.purged = True

    def _reset(self) -> None:
        self.open, self.open_offsets, self.in_txn = [], {}, False
        self.failed_delivery = False


class FakeDelivered:
    def topic(self) -> str:
        return "delivered"
