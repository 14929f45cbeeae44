"""Transactions take turns on a rotation of transactional producers (`TRANSACTIONAL_IDS`, state.py): the ids,
every one initialised before anything is consumed, round-robin one transaction at a time, and pending
calls, aborts, replacements and fencing per producer (fakes)."""

from __future__ import annotations

import threading
from typing import Any, cast

import pytest
from confluent_kafka import Consumer, KafkaError, Producer

from estimator import __main__ as main
from estimator.config import Settings
from estimator.health import Health, Metrics
from estimator.kafka import producer_config
from estimator.serde import Decoder
from estimator.service import Estimator, FatalKafkaError
from tests.fakes import FakeConsumer, FakeProducer, Produced
from tests.test_service import CREATED, IN, IN_ID, OUT, OUT_ID, PROCESSED, push_events, settings, turn_until

Log = list[tuple[str, int]]


class LoggedProducer(FakeProducer):
    """A fake producer of slot `slot` that logs its finished calls to a log shared by the rotation, and
    shares the committed records and offsets with it (the cluster's view)."""

    def __init__(self, slot: int, log: Log, committed: list[Produced], offsets: dict[Any, int]) -> None:
        super().__init__()
        self.slot, self.log = slot, log
        self.committed, self.offsets = committed, offsets

    def begin_transaction(self) -> None:
        super().begin_transaction()
        self.log.append(("begin", self.slot))

    def commit_transaction(self, timeout: float) -> None:
        super().commit_transaction(timeout)
        self.log.append(("commit", self.slot))

    def abort_transaction(self, timeout: float) -> None:
        super().abort_transaction(timeout)
        self.log.append(("abort", self.slot))

    def init_transactions(self, timeout: float) -> None:
        super().init_transactions(timeout)
        self.log.append(("init", self.slot))


class Rotation:
    def __init__(self, count: int, **overrides: Any) -> None:
        self.log: Log = []
        self.committed: list[Produced] = []
        self.offsets: dict[Any, int] = {}
        self.producers = [self.new(slot) for slot in range(count)]
        self.consumer = FakeConsumer()
        self.estimator = Estimator(
            settings(transactional_ids=count, **overrides),
            cast(Consumer, self.consumer),
            [cast(Producer, p) for p in self.producers],
            Decoder(CREATED, {IN_ID: CREATED.check}, lambda _id: None),
            PROCESSED,
            OUT_ID,
            Metrics(),
            Health(),
        )
        self.estimator.start()
        self.consumer.assign_now([(IN, 0), (IN, 1)])

    def new(self, slot: int) -> LoggedProducer:
        return LoggedProducer(slot, self.log, self.committed, self.offsets)

    def outputs(self) -> list[str]:
        return sorted(r.key.decode() for r in self.committed if r.topic == OUT)


def one_at_a_time(log: Log) -> None:
    """Every begin comes after the previous transaction's commit or abort returned, on its own producer."""
    open_slot: int | None = None
    for call, slot in log:
        if call == "begin":
            assert open_slot is None, f"begin on {slot} while {open_slot} is open: {log}"
            open_slot = slot
        elif call in ("commit", "abort"):
            assert open_slot == slot, f"{call} on {slot} while {open_slot} is open: {log}"
            open_slot = None


def test_the_ids_are_distinct_stable_and_plain_with_one() -> None:
    assert settings(transactional_ids=4).transactional_ids == 4
    four = [settings(transactional_ids=4).transactional_id_of(k) for k in range(4)]
    assert four == [f"price-estimate-test-{k}" for k in range(4)]
    assert four == [settings(transactional_ids=4).transactional_id_of(k) for k in range(4)]  # a restart
    assert [producer_config(settings(transactional_ids=4), k)["transactional.id"] for k in range(4)] == four
    assert settings(transactional_ids=1).transactional_id_of(0) == "price-estimate-test"
    assert settings(transactional_ids=1).transactional_id == "price-estimate-test"
    with pytest.raises(ValueError, match="outside the rotation"):
        settings(transactional_ids=4).transactional_id_of(4)


def test_the_default_is_a_rotation_of_four() -> None:
    assert Settings.model_fields["transactional_ids"].default == 4


def test_every_id_is_initialised_before_anything_is_consumed(monkeypatch: pytest.MonkeyPatch) -> None:
    log: Log = []
    made: list[LoggedProducer] = []

    def make_producer(_settings: object, slot: int = 0) -> LoggedProducer:
        made.append(LoggedProducer(slot, log, [], {}))
        return made[-1]

    def make_consumer(_settings: object) -> FakeConsumer:
        log.append(("consumer", -1))
        return FakeConsumer()

    def run(estimator: Estimator, stop: threading.Event) -> None:
        log.append(("run", -1))
        assert estimator._new_producer is not None
        estimator._new_producer(2)  # a replacement gets the id of its slot

    monkeypatch.setattr(main, "make_producer", make_producer)
    monkeypatch.setattr(main, "make_consumer", make_consumer)
    monkeypatch.setattr(Estimator, "run", run)
    s = settings(transactional_ids=3)
    first = make_producer(s, 0)
    schemas = main._Schemas(CREATED, PROCESSED, IN_ID, OUT_ID)
    decoder = Decoder(CREATED, {}, lambda _id: None)
    main._consume_until_stopped(
        s, cast(Producer, first), decoder, schemas, Metrics(), Health(), threading.Event()
    )
    assert [p.slot for p in made] == [0, 1, 2, 2]
    assert log == [("init", 0), ("init", 1), ("init", 2), ("consumer", -1), ("run", -1)]


def test_transactions_go_round_robin_one_at_a_time() -> None:
    rotation = Rotation(4)
    keys: list[str] = []
    for batch in range(6):
        keys += [e["vehicle"]["id"] for e in push_events(rotation.consumer, batch % 2, 2)]
        count = len(keys)
        turn_until(rotation.estimator, lambda count=count: len(rotation.committed) == count)
    begins = [slot for call, slot in rotation.log if call == "begin"]
    assert begins == [0, 1, 2, 3, 0, 1]
    assert [slot for call, slot in rotation.log if call == "commit"] == begins
    one_at_a_time(rotation.log)
    assert rotation.outputs() == sorted(keys)
    assert rotation.offsets == {(IN, 0): 6, (IN, 1): 6}


def test_an_abort_on_one_producer_redoes_exactly_what_it_carried() -> None:
    rotation = Rotation(3)
    events = push_events(rotation.consumer, 0, 2)
    turn_until(rotation.estimator, lambda: len(rotation.committed) == 2)
    rotation.producers[1].fail_next_commits = 1
    events += push_events(rotation.consumer, 1, 3)
    turn_until(rotation.estimator, lambda: rotation.offsets.get((IN, 1)) == 3, seconds=5.0)
    assert rotation.producers[1].aborts == 1
    assert [call for call in rotation.log if call[0] != "begin"] == [
        ("commit", 0),
        ("abort", 1),
        ("commit", 2),
    ]
    one_at_a_time(rotation.log)
    assert rotation.outputs() == sorted(e["vehicle"]["id"] for e in events)  # each once


def test_a_timed_out_commit_is_resumed_on_its_own_producer() -> None:
    rotation = Rotation(3)
    rotation.estimator._txn_budget = 0.2
    rotation.producers[0].time_out_commits = 1_000  # every broker away
    events = push_events(rotation.consumer, 0, 2)
    # Produces and commits: the commit times out and stays pending.
    turn_until(rotation.estimator, lambda: rotation.producers[0].under_way == "commit_transaction")
    events += push_events(rotation.consumer, 1, 2)
    for _ in range(3):
        rotation.estimator.turn()  # resumes the commit on producer 0, begins nothing on producer 1
    assert rotation.log == [("begin", 0)]
    rotation.producers[0].time_out_commits = 0  # the brokers are back
    turn_until(rotation.estimator, lambda: rotation.offsets.get((IN, 1)) == 2, seconds=8.0)
    assert rotation.log == [("begin", 0), ("commit", 0), ("begin", 1), ("commit", 1)]
    assert all(p.conflicts == 0 for p in rotation.producers)
    assert rotation.outputs() == sorted(e["vehicle"]["id"] for e in events)


def test_a_replacement_initialises_every_id_again_before_the_next_transaction() -> None:
    rotation = Rotation(3, commit_interval_ms=60_000)
    rotation.estimator._new_producer = lambda slot: cast(Producer, rotation.new(slot))
    old = list(rotation.producers)
    events = push_events(rotation.consumer, 0, 2)
    rotation.estimator.turn()  # produced on slot 0, not committed
    assert rotation.log == [("begin", 0)]
    rotation.estimator._renew_producer("stuck while Kafka answers")
    assert all(p.purged for p in old)
    assert rotation.estimator._retired == [cast(Producer, p) for p in old]
    rotation.estimator._backoff.reset()
    rotation.estimator._hold_until = 0.0
    turn_until(rotation.estimator, lambda: rotation.estimator._txn_records == 2)
    rotation.estimator.shutdown()
    assert rotation.log == [("begin", 0), ("init", 0), ("init", 1), ("init", 2), ("begin", 0), ("commit", 0)]
    assert cast(object, rotation.estimator._producer) is not old[0]
    assert rotation.outputs() == sorted(e["vehicle"]["id"] for e in events)


def test_a_fenced_producer_anywhere_in_the_rotation_stops_the_process() -> None:
    rotation = Rotation(3)
    push_events(rotation.consumer, 0, 1)
    turn_until(rotation.estimator, lambda: len(rotation.committed) == 1)
    rotation.producers[1].commit_errors = [KafkaError(KafkaError._FENCED, "fenced", fatal=True)]
    push_events(rotation.consumer, 0, 1)
    with pytest.raises(FatalKafkaError):
        turn_until(rotation.estimator, lambda: False, seconds=2.0)
    assert len(rotation.committed) == 1
