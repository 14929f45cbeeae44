"""Kafka client settings in one place: the consumer and the transactional producer, as librdkafka keys.

Why these values:
- `isolation.level=read_committed`: only records of committed transactions are read (the stock relay and
  other producers may be transactional; aborted records must never be priced).
- `enable.auto.commit=false`: offsets travel inside the producer's transaction, nowhere else.
- `cooperative-sticky`: a rebalance revokes only the partitions that move, so work waiting on the others
  keeps its place; the revoke callback commits finished work before giving partitions up.
- `partitioner=murmur2_random`: Java's partitioner, the one every producer of the system uses, so a
  vehicle's events share a partition whichever language wrote them.
- dynamic membership (no `group.instance.id`): a stopping instance leaves the group at once, so its
  partitions move on SIGTERM; librdkafka's static members never leave and would wait a session timeout.
- `transactional.id` = `<group>-<instance>-<k>` for each producer k of the rotation (`<group>-<instance>`
  with `TRANSACTIONAL_IDS=1`): unique per running instance, stable across its restarts, so a restarted
  instance fences its own zombie (every id, state.py); offsets are fenced by group generation (KIP-447).
- producer `socket.timeout.ms=10000`: librdkafka's `send_offsets_to_transaction` waits for its
  AddOffsetsToTxn request whatever timeout it is given, and a request to a coordinator that died only
  fails after `socket.timeout.ms` (60 s by default): the loop then sat 52 to 60 s in one call while every
  broker was down, deaf to SIGTERM and past the transaction's own timeout. 10 s bounds that call; a
  produce request to a local broker that takes longer has failed anyway (and is retried, idempotently).
- producer `retry.backoff.ms=10` (librdkafka's default is 100): every commit sends AddOffsetsToTxn while
  the AddPartitionsToTxn of the transaction's first records is still being written by the coordinator,
  which answers CONCURRENT_TRANSACTIONS, and librdkafka retries after `retry.backoff.ms`. Measured with
  `scripts/txn_probe.py` (one record per transaction, 20 ms apart, loaded stack): 39 such retries in 50
  transactions (`debug=eos`), `send_offsets_to_transaction` p50 116 ms at 100 against 17 ms at 10, the
  whole transaction 120 against 30 ms. It was most of the estimator's share of the pipeline's latency.
  Other retries back off exponentially from it (up to `retry.backoff.max.ms`, 1 s), so a broker that is
  away is not hammered.
- consumer fetch settings stay librdkafka's defaults, measured for both ends: `fetch.min.bytes=1` makes
  the broker answer a waiting fetch as soon as a record is readable (for read_committed: as soon as the
  commit marker moves the last stable offset; a record was readable 3 ms p50 after the producer's commit
  returned, `scripts/txn_probe.py`), so `fetch.wait.max.ms` (500) only bounds an idle fetch; under load an
  answer carries up to `fetch.max.bytes` and librdkafka prefetches (`queued.min.messages`) while the loop
  works, which is the batching. A shorter `fetch.wait.max.ms` would only add idle fetch requests.
- producer `linger.ms=5`: the transaction's commit flushes at once whatever the linger (librdkafka's
  flush sends what is queued without waiting for it), and the records of one turn are produced together,
  so the linger costs nothing at low rates and batches what a turn produces at high ones.
"""

from __future__ import annotations

from confluent_kafka import Consumer, Producer

from .config import Settings
from .log import kafka_client_logger


def consumer_config(settings: Settings) -> dict[str, str | int | float | bool]:
    return {
        "bootstrap.servers": settings.kafka_brokers,
        "group.id": settings.group_id,
        "client.id": f"{settings.group_id}-{settings.instance_id}",
        "isolation.level": "read_committed",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "partition.assignment.strategy": "cooperative-sticky",
        # The loop polls every few hundred milliseconds whatever the delay, so the default 5 minutes is a
        # generous bound that only a stuck process exceeds.
        "max.poll.interval.ms": 300_000,
        "session.timeout.ms": settings.session_timeout_ms,
        "heartbeat.interval.ms": 3_000,
        "enable.partition.eof": False,
    }


def producer_config(settings: Settings, slot: int = 0) -> dict[str, str | int | float | bool]:
    """The settings of producer `slot` of the rotation (state.py)."""
    return {
        "bootstrap.servers": settings.kafka_brokers,
        "client.id": f"{settings.group_id}-{settings.instance_id}-producer-{slot}",
        "transactional.id": settings.transactional_id_of(slot),
        "enable.idempotence": True,
        "acks": "all",
        "partitioner": "murmur2_random",
        "transaction.timeout.ms": settings.transaction_timeout_ms,
        "socket.timeout.ms": 10_000,
        "linger.ms": 5,
        "retry.backoff.ms": 10,
    }


def make_consumer(settings: Settings) -> Consumer:
    return Consumer({**consumer_config(settings), "logger": kafka_client_logger("consumer")})


def make_producer(settings: Settings, slot: int = 0) -> Producer:
    return Producer({**producer_config(settings, slot), "logger": kafka_client_logger(f"producer-{slot}")})
