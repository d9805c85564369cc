"""`shopflow local` is one command over several processes (decision 52): none outlives it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any


def _children(pid: int) -> dict[int, str]:
    """The processes whose parent is `pid`, with their command lines."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
        if parent == pid:
            found[int(entry.name)] = command
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_an_instance_killed_with_sigkill_takes_moto_the_event_sources_and_dynamodb_local_with_it(
    launch: Any,
) -> None:
    instance = launch()
    children = _children(instance.process.pid)
    commands = " | ".join(children.values())
    assert "shopflow.local.moto_process" in commands and "shopflow.local.worker" in commands, commands
    assert "DynamoDBLocal" in commands, commands

    os.kill(instance.process.pid, signal.SIGKILL)
    instance.process.wait()

    deadline = time.monotonic() + 60
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [command for pid, command in children.items() if _alive(pid)] == []
