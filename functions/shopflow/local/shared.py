"""What the processes of `shopflow local` share: the clock, and the count of SSM writes.

The API runs in the runtime's process, the event sources in the worker's, moto in its own
(decision 52). All three must agree on the local clock (`shopflow local advance` moves it for
every handler at once) and the handlers must see a `config set --local` at their next
invocation: both are a few bytes of memory mapped from a file every process holds open, written
by one process and read by the others.
"""

from __future__ import annotations

import mmap
import struct
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import IO, Any

from shopflow.clock import ScaledClock
from shopflow.config.settings import Settings, SettingsLoader

_SECONDS = struct.Struct("=d")


def wait_for_child(
    ready: threading.Event,
    process: subprocess.Popen[Any] | None,
    timeout: float,
    not_ready: Callable[[str], Exception],
) -> None:
    """Wait until a child process says it is ready; `not_ready(why)` is raised if it exits first
    or takes longer than `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not ready.wait(0.1):
        if process is None or process.poll() is not None:
            raise not_ready(
                f"exit code {None if process is None else process.returncode}; the reason is above"
            )
        if time.monotonic() > deadline:
            raise not_ready(f"not ready within {timeout:.0f} s")


_COUNT = struct.Struct("=q")


class SharedMemory:
    """8 bytes of memory shared with child processes through a file descriptor they inherit."""

    def __init__(self, fd: int | None = None) -> None:
        self._file: IO[bytes] | None = None
        if fd is None:
            self._file = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
            self._file.write(bytes(8))
            self._file.flush()
            fd = self._file.fileno()
        self.fd = fd
        self._map = mmap.mmap(fd, 8)

    def get(self, layout: struct.Struct) -> Any:
        return layout.unpack_from(self._map)[0]

    def set(self, layout: struct.Struct, value: Any) -> None:
        layout.pack_into(self._map, 0, value)

    def close(self) -> None:
        self._map.close()
        if self._file is not None:
            self._file.close()


class WriteCount:
    """How many SSM writes moto took: bumped by moto's process before it answers the write."""

    def __init__(self, memory: SharedMemory) -> None:
        self.memory = memory

    def __call__(self) -> int:
        value: int = self.memory.get(_COUNT)
        return value

    def bump(self) -> None:  # one writer only: moto's process, under its lock
        self.memory.set(_COUNT, self() + 1)


class ApiActivity:
    """When the API last took a request (the machine's monotonic clock), for the event sources'
    process: its extra queue pollers wait while the API is busy (decision 52)."""

    QUIET_SECONDS = 1.0

    def __init__(self, memory: SharedMemory) -> None:
        self.memory = memory

    def request(self) -> None:
        self.memory.set(_SECONDS, time.monotonic())

    def busy(self) -> bool:
        return bool(time.monotonic() - self.memory.get(_SECONDS) < self.QUIET_SECONDS)


class SharedClock(ScaledClock):
    """A ScaledClock whose `advance` every process sees: each starts from the same anchor (the
    monotonic clock is the machine's), and the time advanced is in shared memory. Only the
    runtime's process advances it."""

    def __init__(
        self,
        speed: float,
        start: datetime | None,
        *,
        memory: SharedMemory,
        anchored_at: float | None = None,
    ) -> None:
        super().__init__(speed, start)
        if anchored_at is not None:
            self._anchored_at = anchored_at
        self.memory = memory

    def plan(self) -> dict[str, Any]:
        """How a child process builds the same clock (with `from_plan`)."""
        return {
            "speed": self.speed,
            "start": self._anchor.isoformat(),
            "anchored_at": self._anchored_at,
            "fd": self.memory.fd,
        }

    @classmethod
    def from_plan(cls, plan: dict[str, Any]) -> SharedClock:
        return cls(
            float(plan["speed"]),
            datetime.fromisoformat(plan["start"]),
            memory=SharedMemory(int(plan["fd"])),
            anchored_at=float(plan["anchored_at"]),
        )

    def now(self) -> datetime:
        elapsed = self._monotonic() - self._anchored_at
        return self._anchor + timedelta(seconds=self.memory.get(_SECONDS) + elapsed * self.speed)

    def advance(self, delta: timedelta) -> datetime:
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        with self._lock:
            self.memory.set(_SECONDS, self.memory.get(_SECONDS) + delta.total_seconds())
        return self.now()


class SettingsOnWrite(SettingsLoader):
    """The handlers' settings, read from SSM again only after a parameter was written.

    On AWS a container re-reads SSM at most once a minute; locally a change must show at once,
    and reading all parameters (six GetParametersByPath pages) on every invocation was half of
    the runtime's CPU per order (bench/local_runtime.py --only load). Every SSM write goes through
    moto, which counts it before it answers (`moto_process.py`), so the count says exactly when
    there is something new to read (decision 48)."""

    def __init__(self, stage: str, ssm_client: Any, writes: Callable[[], int]) -> None:
        super().__init__(stage, ssm_client=ssm_client, max_age_seconds=0)
        self._writes = writes
        self._read: tuple[int, Settings] | None = None
        # One thread reads, the others take what it read: after a write, a burst's 16 requests
        # each read every parameter at once (96 requests to moto before the first answer).
        self._reading = threading.Lock()

    def load(self) -> Settings:
        read = self._read
        if read is not None and read[0] == self._writes():
            return read[1]
        with self._reading:
            writes = self._writes()  # before reading: a write during the read makes the next load read again
            read = self._read
            if read is not None and read[0] == writes:
                return read[1]  # another thread read it meanwhile
            settings = super().load()
            self._read = (writes, settings)
            return settings
