from estimator.window import PartitionOffsets, Window

TP = ("stock.vehicle-created", 0)
TP1 = ("stock.vehicle-created", 1)


def test_offsets_commit_only_the_contiguous_finished_prefix() -> None:
    p = PartitionOffsets()
    for offset in range(10, 15):
        p.consumed(offset)
    assert p.committable() is None  # nothing finished: the floor (10) is where the group already is
    p.finished(12)
    p.finished(13)
    assert p.committable() is None  # 10 and 11 still pending
    p.finished(10)
    assert p.committable() == 11
    p.committed = 11
    assert p.committable() is None
    p.finished(11)
    assert p.committable() == 14
    p.finished(14)
    assert p.committable() == 15
    assert p.pending == 0


def test_offsets_tolerate_gaps_from_transaction_markers() -> None:
    p = PartitionOffsets()
    for offset in (0, 1, 3, 4, 7):  # 2, 5, 6 are control records / aborted data never delivered
        p.consumed(offset)
    for offset in (7, 4, 3, 1, 0):
        p.finished(offset)
    assert p.committable() == 8


def test_reopened_offset_blocks_the_prefix_again() -> None:
    p = PartitionOffsets()
    for offset in range(3):
        p.consumed(offset)
        p.finished(offset)
    assert p.committable() == 3
    p.reopen(1)
    assert p.committable() == 1
    p.finished(1)
    assert p.committable() == 3


def test_window_releases_work_when_due_in_due_order() -> None:
    w: Window[str] = Window()
    w.add(TP, 0, due=5.0, item="a")
    w.add(TP, 1, due=1.0, item="b")
    w.add(TP1, 0, due=3.0, item="c")
    assert w.in_flight == 3
    assert w.next_due() == 1.0
    assert [e.item for e in w.pop_due(now=0.5, limit=10)] == []
    due = w.pop_due(now=3.0, limit=10)
    assert [e.item for e in due] == ["b", "c"]
    for entry in due:
        w.finish(entry)
    # partition 0: offset 0 still waits, so nothing to commit there; partition 1 moved past offset 0.
    assert w.committable() == {TP1: 1}
    assert w.in_flight == 1


def test_pop_due_respects_the_limit() -> None:
    w: Window[int] = Window()
    for offset in range(5):
        w.add(TP, offset, due=0.0, item=offset)
    assert len(w.pop_due(now=1.0, limit=2)) == 2
    assert len(w.pop_due(now=1.0, limit=10)) == 3


def test_commit_moves_the_floor_and_abort_puts_work_back() -> None:
    w: Window[int] = Window()
    for offset in range(4):
        w.add(TP, offset, due=0.0, item=offset)
    first = w.pop_due(now=1.0, limit=2)
    for entry in first:
        w.finish(entry)
    offsets = w.committable()
    assert offsets == {TP: 2}
    w.committed(offsets)
    assert w.committable() == {}

    second = w.pop_due(now=1.0, limit=10)
    for entry in second:
        w.finish(entry)
    assert w.committable() == {TP: 4}
    assert w.aborted(now=2.0) == 2  # the transaction holding offsets 2 and 3 failed
    assert w.committable() == {}
    assert w.in_flight == 2
    again = w.pop_due(now=2.0, limit=10)
    assert sorted(e.offset for e in again) == [2, 3]
    for entry in again:
        w.finish(entry)
    assert w.committable() == {TP: 4}


def test_revoked_partitions_are_forgotten_and_never_committed() -> None:
    w: Window[int] = Window()
    w.assign([TP, TP1])
    for offset in range(3):
        w.add(TP, offset, due=10.0, item=offset)
        w.add(TP1, offset, due=0.0, item=offset)
    for entry in w.pop_due(now=1.0, limit=10):
        w.finish(entry)
    assert w.drop([TP1]) == 0
    assert w.drop([TP]) == 3
    assert w.in_flight == 0
    assert w.committable() == {}
    assert w.pop_due(now=100.0, limit=10) == []
    assert w.owned() == []
    assert w.aborted(now=0.0) == 0  # dropped partitions are not reopened
