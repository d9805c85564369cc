"""One `shopflow local` per data dir: a lock the kernel lets go of when its holder dies.

The running instance holds an exclusive `flock` on `<data dir>/local.lock` (its pid written
inside, for messages). The kernel releases it when the process ends however it ends, kill -9
included, and before an unreaped (zombie) process is reaped, so a crashed instance never
blocks the next start; a pid check (`kill(pid, 0)`) would count a zombie as alive. Where
`fcntl` is missing (Windows) the lock is a no-op and the session file's pid check decides.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

LOCK_FILE = "local.lock"


class InstanceLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        self._file: IO[str] | None = None

    @property
    def supported(self) -> bool:
        try:
            import fcntl  # noqa: F401 - only whether it exists
        except ImportError:
            return False
        return True

    def acquire(self) -> bool:
        """Take the lock for this process; False when a live process holds it."""
        if not self.supported:
            return True
        import fcntl

        handle = self.path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle
        return True

    def holder(self) -> str:
        """The pid the holder wrote, for a message ('?' when unreadable)."""
        try:
            return self.path.read_text().strip() or "?"
        except OSError:
            return "?"

    def release(self) -> None:
        # The file stays: removing it would let two starts lock two different files.
        if self._file is not None:
            self._file.close()  # closing lets go of the lock
            self._file = None
