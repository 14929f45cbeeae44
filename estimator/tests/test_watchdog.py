"""The watchdog ends a process whose loop is blocked inside librdkafka, or that outlives SIGTERM's grace."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from estimator.health import Health
from estimator.watchdog import Watchdog


def watchdog(now: list[float], exits: list[int]) -> tuple[Watchdog, Health]:
    health = Health()
    health.last_turn = now[0]
    dog = Watchdog(health, stuck_after=40, grace=14, exit=exits.append, clock=lambda: now[0])
    return dog, health


def test_a_loop_that_keeps_turning_is_left_alone() -> None:
    now, exits = [100.0], list[int]()
    dog, health = watchdog(now, exits)
    for _ in range(10):
        now[0] += 10
        health.last_turn = now[0]
        dog.check()
    assert exits == []


def test_a_loop_blocked_past_the_limit_exits_1() -> None:
    now, exits = [100.0], list[int]()
    dog, _ = watchdog(now, exits)
    now[0] += 39
    dog.check()
    assert exits == []
    now[0] += 2
    dog.check()
    assert exits == [1]


def test_a_stop_signal_not_acted_on_within_the_grace_exits_1() -> None:
    now, exits = [100.0], list[int]()
    dog, health = watchdog(now, exits)
    dog.signalled()
    now[0] += 13
    health.last_turn = now[0]
    dog.check()
    assert exits == []
    now[0] += 2
    dog.check()
    assert exits == [1]


def test_sigterm_reaches_the_watchdog_while_the_main_thread_is_blocked_in_c(tmp_path: Path) -> None:
    # The main thread sits in a long call (time.sleep stands in for a librdkafka call that ignores its
    # timeout) and its own handler does not get it out: the watchdog, told through the wakeup pipe, ends
    # the process once the grace is over.
    script = tmp_path / "blocked.py"
    script.write_text(
        "import signal, sys, time\n"
        "from estimator.health import Health\n"
        "from estimator.watchdog import Watchdog\n"
        "signal.signal(signal.SIGTERM, lambda *_: None)\n"
        "dog = Watchdog(Health(), stuck_after=600, grace=1)\n"
        "dog.start()\n"
        "print('blocked', flush=True)\n"
        "time.sleep(60)\n"
    )
    process = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ)
    )
    assert process.stdout is not None
    assert process.stdout.readline() == b"blocked\n"
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=20)
    assert code == 1
    assert time.monotonic() - started < 10
    assert process.stderr is not None
    assert b"Thread" in process.stderr.read()  # the stacks of the blocked threads, for the log
