"""What the loop does with a Kafka error from a transactional call or a produce, and how long it may try.

librdkafka sorts transactional errors into classes (see confluent-kafka's `KafkaError.fatal()`,
`txn_requires_abort()`, `retriable()`):
- fatal (fenced by a newer instance with the same transactional id, or the producer broken): nothing but a
  new producer helps, so the process exits non-zero and the orchestrator starts it again;
- abortable: the transaction cannot commit (a record failed, the group generation moved on, the broker
  timed the transaction out): abort it and redo its records, the input offsets were not committed;
- retriable: the same call may be made again and resumes where it stopped (a timeout, the coordinator
  moving or unreachable).

A retriable call that timed out goes on inside librdkafka, which refuses every other transactional call
(`_CONFLICT`) until the same call is made again and finishes: the loop resumes it, each try short so a
SIGTERM is noticed between tries (see `service.Estimator._drive`).

`produce()` itself raises for local conditions (`_UNKNOWN_TOPIC` after the metadata was lost while every
broker was away, a full queue is handled by the caller): any non-fatal one aborts the transaction and the
records are redone after a back-off, rather than ending the process.
"""

from __future__ import annotations

import enum

from confluent_kafka import KafkaError, KafkaException

# One try of a transactional call: short, so the loop sees a stop request and the health check a turn.
CALL_TIMEOUT = 2.0

# Fenced: another producer with our transactional id (a newer start of this instance) owns it now.
_FATAL_CODES = frozenset(
    {
        KafkaError._FENCED,
        KafkaError.PRODUCER_FENCED,
        KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        KafkaError._FATAL,
    }
)


class Action(enum.Enum):
    RETRY = "retry"
    ABORT = "abort"
    FATAL = "fatal"


def classify(error: KafkaError) -> Action:
    if error.fatal() or error.code() in _FATAL_CODES:
        return Action.FATAL
    if error.txn_requires_abort():
        return Action.ABORT
    if error.retriable() or error.code() == KafkaError._TIMED_OUT:
        return Action.RETRY
    return Action.ABORT


def error_of(failure: KafkaException) -> KafkaError:
    first = failure.args[0] if failure.args else None
    if isinstance(first, KafkaError):
        return first
    return KafkaError(KafkaError._FAIL, str(failure))


class Backoff:
    """Delay before redoing an aborted transaction's records: grows while Kafka keeps failing, so an
    unreachable cluster is not hammered, and resets at the first commit."""

    def __init__(self, first: float = 0.25, most: float = 5.0) -> None:
        self._first = first
        self._most = most
        self._next = first

    def next(self) -> float:
        delay = self._next
        self._next = min(self._most, self._next * 2)
        return delay

    def reset(self) -> None:
        self._next = self._first
