"""Error classes of transactional calls and the back-off after an abort."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError

from estimator.txn import Action, Backoff, classify


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


def test_backoff_grows_to_its_ceiling_and_resets() -> None:
    backoff = Backoff(first=0.25, most=1.0)
    assert [backoff.next() for _ in range(4)] == [0.25, 0.5, 1.0, 1.0]
    backoff.reset()
    assert backoff.next() == 0.25
