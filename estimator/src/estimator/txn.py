"""What the loop does with a Kafka error from a transactional call or a produce, and how long it may try.

librdkafka sorts transactional errors into classes (see confluent-kafka's `KafkaError.fatal()`,
`txn_requires_abort()`, `retriable()`):
- fatal (fenced by a newer instance with the same transactional id, or the producer broken): nothing but a
  new producer helps, so the process exits non-zero and the orchestrator starts it again;
- abortable: the transaction cannot commit (a record failed, the group generation moved on, the broker
  timed the transaction out): abort it and redo its records, the input offsets were not committed;
- retriable: the same call may be made again and resumes where it stopped (a timeout, the coordinator
  moving or unreachable).

A retriable call is retried only within a deadline well under `transaction.timeout.ms` (past it the broker
aborts the transaction anyway), each try short so a SIGTERM is noticed between tries.

`produce()` itself raises for local conditions (`_UNKNOWN_TOPIC` after the metadata was lost while every
broker was away, a full queue is handled by the caller): any non-fatal one aborts the transaction and the
records are redone after a back-off, rather than ending the process.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable

from confluent_kafka import KafkaError, KafkaException

# One try of a transactional call: short, so the loop sees a stop request and the health check a turn.
CALL_TIMEOUT = 2.0
# Some failures come back at once ("Broker transport failure (after 0ms)"): space the tries out a little.
_RETRY_GAP = 0.1

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


def retry_until(
    what: str,
    call: Callable[[float], None],
    deadline: float,
    clock: Callable[[], float],
    *,
    stopping: Callable[[], bool],
    on_retry: Callable[[str, KafkaError], None],
    pause: Callable[[float], None] = time.sleep,
) -> None:
    """Calls `call(timeout)` until it succeeds, raising its KafkaException when the error is not
    retriable, when the deadline has passed, or when the process is asked to stop."""
    while True:
        started = clock()
        timeout = max(0.1, min(CALL_TIMEOUT, deadline - started))
        try:
            call(timeout)
            return
        except KafkaException as failure:
            error = error_of(failure)
            if classify(error) is not Action.RETRY or clock() >= deadline or stopping():
                raise
            on_retry(what, error)
            pause(max(0.0, min(_RETRY_GAP - (clock() - started), deadline - clock())))


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
