"""Producing inside the open transaction: the processed event answering a created one, or the dead letter
of a poison record, and what a failed produce or delivery means for the transaction."""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException, Message

from .log import log
from .processed import PROCESSED_EVENT_TYPE
from .serde import encode
from .state import FatalKafkaError, Headers, LoopState, ProduceFailed, Work
from .txn import CALL_TIMEOUT, Action, classify, error_of
from .window import Entry

# Delivery reports of records that our own abort purged from the queue: expected, not a new failure.
_PURGED = frozenset({KafkaError._PURGE_QUEUE, KafkaError._PURGE_INFLIGHT})


class Producing(LoopState):
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
                    raise ProduceFailed("producer queue full while stopping") from None
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
                raise ProduceFailed(f"produce to {topic}: {error.str()}") from failure

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
