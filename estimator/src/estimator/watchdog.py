"""A thread that ends the process when the main loop cannot: it is blocked inside librdkafka.

Some transactional calls do not honour their timeout: `send_offsets_to_transaction` waits for its
AddOffsetsToTxn request, and while the transaction coordinator is unknown (every broker restarted) that
request is never sent, so the call returned only minutes later, or not at all, in the all-brokers-down
fault case. Meanwhile the loop does not turn, and Python runs a signal handler only between bytecodes of
the main thread, so SIGTERM was ignored too.

- The loop marks every turn (`Health.turned`); when none came for `stuck_after` seconds the watchdog prints
  every thread's stack and exits 1: the orchestrator starts the instance again, and its init_transactions
  fences the stuck producer's epoch and aborts its open transaction, so nothing is lost or duplicated.
- Signals are also written to a wakeup pipe by Python's C-level handler (`signal.set_wakeup_fd`), which
  the watchdog reads: when SIGTERM/SIGINT arrived and the process is still there `grace` seconds later,
  it exits 1 itself.
"""

from __future__ import annotations

import faulthandler
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass

from .health import Health
from .log import log

_STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})


@dataclass(eq=False)
class Watchdog:
    """Its settings are its fields (tests replace `exit` and `clock`); pipe and thread: `__post_init__`."""

    health: Health
    _: KW_ONLY
    stuck_after: float
    grace: float
    exit: Callable[[int], None] = os._exit
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._done = threading.Event()
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        os.set_blocking(self._write_fd, False)
        self._signalled_at: float | None = None
        self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)

    def start(self) -> None:
        """From the main thread, after the signal handlers are installed."""
        signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._done.is_set():
            readable, _, _ = select.select([self._read_fd], [], [], 1.0)
            if readable:
                self._read_signals()
            self.check()

    def _read_signals(self) -> None:
        try:
            data = os.read(self._read_fd, 64)
        except BlockingIOError:
            return
        if any(number in _STOP_SIGNALS for number in data) and self._signalled_at is None:
            self._signalled_at = self.clock()

    def signalled(self) -> None:
        """What a stop signal does to the watchdog (the pipe calls it; tests call it directly)."""
        if self._signalled_at is None:
            self._signalled_at = self.clock()

    def check(self) -> None:
        now = self.clock()
        if self._signalled_at is not None and now - self._signalled_at >= self.grace:
            self._give_up(f"still running {now - self._signalled_at:.0f} s after SIGTERM")
            return
        idle = now - self.health.last_turn
        if idle >= self.stuck_after:
            self._give_up(f"the loop has not turned for {idle:.0f} s (blocked in a Kafka call)")

    def _give_up(self, why: str) -> None:
        log.error("estimator.stuck", f"exiting: {why}; a restart fences the stuck producer")
        if not self._done.is_set():
            faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        self._done.set()
        self.exit(1)
