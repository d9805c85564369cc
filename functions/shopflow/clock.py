"""Time, passed in: domain code never reads the wall clock itself.

Every handler gets its time from one `Clock`, so tests and `shopflow local`
can run faster than real time or jump forward.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...

    def real_now(self) -> datetime:
        """The outside world's time, for what other parties date with their own clocks (a
        sender's signed timestamp). Differs from `now` only where time is simulated."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def real_now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that moves only when told to (tests)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def real_now(self) -> datetime:
        # A test's senders live in the same made-up time as the shop.
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, when: datetime) -> None:
        self._now = when.astimezone(UTC)


class ScaledClock:
    """Time that runs `speed` times faster than real time and can be moved forward (`shopflow local`).

    Thread-safe: handlers on several threads read it while `advance` moves it.
    """

    def __init__(self, speed: float = 1.0, start: datetime | None = None) -> None:
        import threading
        import time

        if speed <= 0:
            raise ValueError("clock speed must be positive")
        if start is not None and start.tzinfo is None:
            raise ValueError("ScaledClock needs a timezone-aware start time")
        self.speed = speed
        self._monotonic = time.monotonic
        self._lock = threading.Lock()
        self._anchor = (start or datetime.now(UTC)).astimezone(UTC)
        self._anchored_at = self._monotonic()

    def now(self) -> datetime:
        with self._lock:
            elapsed = self._monotonic() - self._anchored_at
            return self._anchor + timedelta(seconds=elapsed * self.speed)

    def real_now(self) -> datetime:
        # Real senders sign with real time, however far this clock has been sped up or moved.
        return datetime.now(UTC)

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._anchor += delta
            return self._anchor + timedelta(seconds=(self._monotonic() - self._anchored_at) * self.speed)

    def real_seconds(self, virtual: timedelta) -> float:
        """How long `virtual` time takes on this clock in real seconds."""
        return virtual.total_seconds() / self.speed
