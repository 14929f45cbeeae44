"""In-memory stand-ins for confluent-kafka's Consumer and transactional Producer, for the loop's unit tests.

They keep only what the loop's contract needs: records handed out in order per partition, pause/resume,
rebalance callbacks on demand, and transactions whose records and offsets become visible only on commit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

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

    def assignment(self) -> list[TopicPartition]:
        return [TopicPartition(t, p) for t, p in self.assigned]

    def pause(self, partitions: list[TopicPartition]) -> None:
        self.paused.update((p.topic, p.partition) for p in partitions)

    def resume(self, partitions: list[TopicPartition]) -> None:
        self.paused.difference_update((p.topic, p.partition) for p in partitions)

    def consumer_group_metadata(self) -> str:
        return "group-metadata"

    def get_watermark_offsets(self, tp: TopicPartition, cached: bool = False) -> tuple[int, int]:
        return (0, 0)

    def list_topics(self, topic: str | None = None, timeout: float = -1) -> object:
        self.probes += 1
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
    """Records of a committed transaction land in `committed`; offsets land in `offsets`."""

    def __init__(self) -> None:
        self.open: list[Produced] = []
        self.open_offsets: dict[tuple[str, int], int] = {}
        self.committed: list[Produced] = []
        self.offsets: dict[tuple[str, int], int] = {}
        self.in_txn = False
        self.fail_next_commits = 0
        self.time_out_next_calls = 0  # commit/abort calls that time out (retriable), as with brokers down
        self.commits = 0
        self.aborts = 0

    def begin_transaction(self) -> None:
        assert not self.in_txn, "begin_transaction inside an open transaction"
        self.in_txn = True

    def produce(
        self,
        topic: str,
        value: bytes | None,
        key: bytes,
        headers: list[tuple[str, bytes]],
        on_delivery: object,
    ) -> None:
        assert self.in_txn, "produce outside a transaction"
        self.open.append(Produced(topic, key, value, list(headers)))

    def poll(self, timeout: float) -> int:
        return 0

    def flush(self, timeout: float) -> int:
        return 0

    def send_offsets_to_transaction(
        self, offsets: list[TopicPartition], metadata: object, timeout: float
    ) -> None:
        assert self.in_txn
        assert metadata == "group-metadata"
        for tp in offsets:
            self.open_offsets[(tp.topic, tp.partition)] = tp.offset

    def _maybe_time_out(self) -> None:
        if self.time_out_next_calls > 0:
            self.time_out_next_calls -= 1
            raise KafkaException(KafkaError(KafkaError._TIMED_OUT, "injected: timed out", retriable=True))

    def commit_transaction(self, timeout: float) -> None:
        assert self.in_txn
        self._maybe_time_out()
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
        assert self.in_txn
        self._maybe_time_out()
        self._reset()
        self.aborts += 1

    def _reset(self) -> None:
        self.open, self.open_offsets, self.in_txn = [], {}, False
