"""Partitions coming and going (called from inside `consume()`): assignment, revoke and loss against the
open transaction, pausing, and the lag metric of owned partitions."""

from __future__ import annotations

import contextlib

from confluent_kafka import Consumer, KafkaException
from confluent_kafka import TopicPartition as KafkaTopicPartition

from .log import log
from .txn_driver import TransactionDriver
from .window import TopicPartition


class Rebalancing(TransactionDriver):
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


def _tps_text(tps: list[TopicPartition]) -> str:
    return ",".join(f"{t}[{p}]" for t, p in sorted(tps))
