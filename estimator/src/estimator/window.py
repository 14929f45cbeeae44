"""The in-flight window: records consumed but not yet committed, when each is due, and which offset of each
partition may be committed.

Work finishes out of order (each record waits its own delay, poison records finish at once), but a
partition's committed offset is a single number: everything below it is done. So each partition keeps the
set of offsets still pending, and the committable offset is the lowest pending one, or one past the highest
consumed offset when none is pending (read_committed fetches can skip offsets: transaction markers and
aborted records, so "highest + 1" rather than counting).

Records finished inside the open transaction stay known until it commits: if it aborts, their outputs are
gone, so they are put back as pending and due at once (`reopen`), rather than seeking the consumer back.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
TopicPartition = tuple[str, int]


class PartitionOffsets:
    """The contiguous-prefix tracker of one partition."""

    __slots__ = ("_heap", "_pending", "committed", "next_offset")

    def __init__(self) -> None:
        self._pending: set[int] = set()
        self._heap: list[int] = []  # min-heap over pending offsets, with lazy deletion of finished ones
        self.next_offset: int | None = None  # one past the highest consumed offset
        self.committed: int | None = None  # last offset this instance committed for the partition

    def consumed(self, offset: int) -> None:
        if offset in self._pending:
            return  # redelivered while still pending (e.g. after a seek): nothing new to track
        if self.committed is None:
            # The first record read after assignment sits at the group's committed position (or where the
            # reset policy started): that is the floor, committing it again would say nothing new.
            self.committed = offset
        self._pending.add(offset)
        heapq.heappush(self._heap, offset)
        if self.next_offset is None or offset >= self.next_offset:
            self.next_offset = offset + 1

    def finished(self, offset: int) -> None:
        self._pending.discard(offset)
        while self._heap and self._heap[0] not in self._pending:
            heapq.heappop(self._heap)

    def reopen(self, offset: int) -> None:
        """An offset that was finished becomes pending again (its output was in an aborted transaction)."""
        if offset not in self._pending:
            self._pending.add(offset)
            heapq.heappush(self._heap, offset)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def committable(self) -> int | None:
        """The offset to commit (next record to read), or None when nothing new is finished."""
        if self.next_offset is None:
            return None
        candidate = self._heap[0] if self._heap else self.next_offset
        if self.committed is not None and candidate <= self.committed:
            return None
        return candidate


@dataclass(order=True, slots=True)
class _Scheduled(Generic[T]):
    due: float
    seq: int
    tp: TopicPartition = field(compare=False)
    offset: int = field(compare=False)
    item: T = field(compare=False)


@dataclass(frozen=True, slots=True)
class Entry(Generic[T]):
    tp: TopicPartition
    offset: int
    item: T


class Window(Generic[T]):
    """Due-time scheduler plus one `PartitionOffsets` per owned partition."""

    def __init__(self) -> None:
        self._partitions: dict[TopicPartition, PartitionOffsets] = {}
        self._queue: list[_Scheduled[T]] = []
        self._seq = itertools.count()
        self._finished_in_txn: list[_Scheduled[T]] = []

    # -- consuming and finishing -------------------------------------------------------------------------

    def add(self, tp: TopicPartition, offset: int, due: float, item: T) -> None:
        self._partitions.setdefault(tp, PartitionOffsets()).consumed(offset)
        heapq.heappush(self._queue, _Scheduled(due, next(self._seq), tp, offset, item))

    def next_due(self) -> float | None:
        return self._queue[0].due if self._queue else None

    def pop_due(self, now: float, limit: int) -> list[Entry[T]]:
        """Takes up to `limit` records whose time has come; the caller produces them, then `finish`es."""
        out: list[Entry[T]] = []
        while self._queue and self._queue[0].due <= now and len(out) < limit:
            scheduled = heapq.heappop(self._queue)
            self._finished_in_txn.append(scheduled)
            out.append(Entry(scheduled.tp, scheduled.offset, scheduled.item))
        return out

    def finish(self, entry: Entry[T]) -> None:
        offsets = self._partitions.get(entry.tp)
        if offsets is not None:
            offsets.finished(entry.offset)

    @property
    def in_flight(self) -> int:
        """Records consumed and not yet finished (waiting, or being produced)."""
        return sum(p.pending for p in self._partitions.values())

    @property
    def finished_in_txn(self) -> int:
        return len(self._finished_in_txn)

    # -- transactions --------------------------------------------------------------------------------------

    def committable(self) -> dict[TopicPartition, int]:
        out: dict[TopicPartition, int] = {}
        for tp, offsets in self._partitions.items():
            offset = offsets.committable()
            if offset is not None:
                out[tp] = offset
        return out

    def partitions_in_transaction(self) -> set[TopicPartition]:
        """Partitions with records produced in the open transaction (finished since the last commit)."""
        return {scheduled.tp for scheduled in self._finished_in_txn}

    def committed(self, offsets: dict[TopicPartition, int]) -> None:
        """The transaction carrying `offsets` committed: they are the new floor, its work is final."""
        for tp, offset in offsets.items():
            partition = self._partitions.get(tp)
            if partition is not None:
                partition.committed = offset
        self._finished_in_txn.clear()

    def aborted(self, now: float) -> int:
        """The transaction aborted: its outputs are gone, so its records are pending again and due now."""
        count = 0
        for scheduled in self._finished_in_txn:
            partition = self._partitions.get(scheduled.tp)
            if partition is None:
                continue  # the partition was revoked meanwhile: its new owner redoes the record
            partition.reopen(scheduled.offset)
            scheduled.due = now
            heapq.heappush(self._queue, scheduled)
            count += 1
        self._finished_in_txn.clear()
        return count

    # -- rebalancing ---------------------------------------------------------------------------------------

    def assign(self, tps: Iterable[TopicPartition]) -> None:
        for tp in tps:
            self._partitions.setdefault(tp, PartitionOffsets())

    def drop(self, tps: Iterable[TopicPartition]) -> int:
        """Forgets revoked partitions: their waiting records are dropped, the new owner redoes them."""
        gone = set(tps)
        dropped = sum(self._partitions[tp].pending for tp in gone if tp in self._partitions)
        for tp in gone:
            self._partitions.pop(tp, None)
        self._queue = [s for s in self._queue if s.tp not in gone]
        heapq.heapify(self._queue)
        self._finished_in_txn = [s for s in self._finished_in_txn if s.tp not in gone]
        return dropped

    def committed_offset(self, tp: TopicPartition) -> int | None:
        partition = self._partitions.get(tp)
        return None if partition is None else partition.committed

    def owns(self, tp: TopicPartition) -> bool:
        return tp in self._partitions

    def owned(self) -> list[TopicPartition]:
        return list(self._partitions)
