"""Error classes and the bounded retry of transactional calls."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException

from estimator.txn import Action, Backoff, classify, retry_until


@pytest.mark.parametrize(
    ("error", "action"),
    [
        (KafkaError(KafkaError._FENCED, "fenced", fatal=True), Action.FATAL),
        (KafkaError(KafkaError.PRODUCER_FENCED, "fenced"), Action.FATAL),
        (KafkaError(KafkaError.ILLEGAL_GENERATION, "generation", txn_requires_abort=True), Action.ABORT),
        (KafkaError(KafkaError._TIMED_OUT, "timed out", retriable=True), Action.RETRY),
        (KafkaError(KafkaError._TIMED_OUT, "timed out"), Action.RETRY),
        (KafkaError(KafkaError._TRANSPORT, "transport", retriable=True), Action.RETRY),
        (KafkaError(KafkaError._UNKNOWN_TOPIC, "unknown topic"), Action.ABORT),
        (KafkaError(KafkaError._STATE, "wrong state"), Action.ABORT),
    ],
)
def test_classify(error: KafkaError, action: Action) -> None:
    assert classify(error) is action


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def timing_out(clock: Clock, timeouts: list[float], succeed_after: int = 10**9) -> object:
    def call(timeout: float) -> None:
        timeouts.append(timeout)
        if len(timeouts) > succeed_after:
            return
        clock.now += timeout  # a timed-out call takes its whole timeout
        raise KafkaException(KafkaError(KafkaError._TIMED_OUT, "timed out", retriable=True))

    return call


def test_retries_stop_at_the_deadline_each_try_short() -> None:
    clock, timeouts, retries = Clock(), list[float](), list[str]()
    with pytest.raises(KafkaException):
        retry_until(
            "commit",
            timing_out(clock, timeouts),  # type: ignore[arg-type]
            clock.now + 15,
            clock,
            stopping=lambda: False,
            on_retry=lambda what, error: retries.append(what),
            pause=clock.sleep,
        )
    assert clock.now - 100 <= 15.5
    assert max(timeouts) <= 2.0
    assert len(retries) == len(timeouts) - 1


def test_a_retry_that_succeeds_returns() -> None:
    clock, timeouts = Clock(), list[float]()
    retry_until(
        "commit",
        timing_out(clock, timeouts, succeed_after=2),  # type: ignore[arg-type]
        clock.now + 15,
        clock,
        stopping=lambda: False,
        on_retry=lambda what, error: None,
        pause=clock.sleep,
    )
    assert len(timeouts) == 3


def test_a_stop_request_ends_the_retries() -> None:
    clock, timeouts = Clock(), list[float]()
    with pytest.raises(KafkaException):
        retry_until(
            "commit",
            timing_out(clock, timeouts),  # type: ignore[arg-type]
            clock.now + 15,
            clock,
            stopping=lambda: len(timeouts) >= 2,
            on_retry=lambda what, error: None,
            pause=clock.sleep,
        )
    assert len(timeouts) == 2


def test_an_abortable_error_is_not_retried() -> None:
    clock, calls = Clock(), []

    def call(timeout: float) -> None:
        calls.append(timeout)
        raise KafkaException(KafkaError(KafkaError.ILLEGAL_GENERATION, "gen", txn_requires_abort=True))

    with pytest.raises(KafkaException):
        retry_until("send_offsets", call, clock.now + 15, clock, stopping=lambda: False, on_retry=print)
    assert len(calls) == 1


def test_backoff_grows_to_its_ceiling_and_resets() -> None:
    backoff = Backoff(first=0.25, most=1.0)
    assert [backoff.next() for _ in range(4)] == [0.25, 0.5, 1.0, 1.0]
    backoff.reset()
    assert backoff.next() == 0.25
