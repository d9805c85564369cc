"""The clock and SSM write count the processes of `shopflow local` share (decision 52)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from shopflow.local.shared import SettingsOnWrite, SharedClock, SharedMemory, WriteCount

_READ_IN_A_CHILD = (
    "import json, sys; from shopflow.local.shared import SharedClock, SharedMemory, WriteCount;"
    "plan = json.loads(sys.argv[1]);"
    "print(SharedClock.from_plan(plan['clock']).now().isoformat());"
    "print(WriteCount(SharedMemory(plan['writes_fd']))())"
)


def _read_in_a_child(clock: SharedClock, writes: WriteCount) -> tuple[datetime, int]:
    plan = {"clock": clock.plan(), "writes_fd": writes.memory.fd}
    answer = subprocess.run(
        [sys.executable, "-c", _READ_IN_A_CHILD, json.dumps(plan)],
        pass_fds=(clock.memory.fd, writes.memory.fd),
        capture_output=True,
        text=True,
        check=True,
    )
    now, count = answer.stdout.split()
    return datetime.fromisoformat(now), int(count)


def test_an_advance_and_an_ssm_write_show_in_every_process() -> None:
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    clock = SharedClock(1.0, start, memory=SharedMemory())
    writes = WriteCount(SharedMemory())

    clock.advance(timedelta(hours=2))
    writes.bump()
    seen, count = _read_in_a_child(clock, writes)

    assert start + timedelta(hours=2) <= seen < start + timedelta(hours=2, minutes=1)
    assert count == 1
    clock.memory.close()
    writes.memory.close()


def test_a_clock_that_runs_fast_runs_fast_in_every_process() -> None:
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    clock = SharedClock(3600.0, start, memory=SharedMemory())
    writes = WriteCount(SharedMemory())

    seen, _ = _read_in_a_child(clock, writes)

    assert seen > start + timedelta(minutes=1)  # a child process takes more than 1/60 s to start
    assert abs(seen - clock.now()) < timedelta(hours=1)
    clock.memory.close()
    writes.memory.close()


class CountingSsm:
    """An SSM client with one parameter, slow to answer, that counts its reads."""

    def __init__(self) -> None:
        self.reads = 0

    def get_parameters_by_path(self, **request: Any) -> dict[str, Any]:
        self.reads += 1
        threading.Event().wait(0.2)  # long enough for every caller to arrive meanwhile
        return {"Parameters": [{"Name": "/shopflow/local/notify/email/sender", "Value": "a@b.example"}]}


def test_requests_arriving_together_after_a_write_read_the_parameters_once() -> None:
    writes = WriteCount(SharedMemory())
    ssm = CountingSsm()
    settings = SettingsOnWrite("local", ssm, writes)
    settings.load()
    writes.bump()  # `config set --local`: the next load reads again
    together = threading.Barrier(8)
    loaded: list[object] = []

    def request() -> None:
        together.wait()
        loaded.append(settings.load())

    callers = [threading.Thread(target=request) for _ in range(8)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(10)

    assert ssm.reads == 2  # the first load, then one for all eight
    assert len(loaded) == 8 and all(each is loaded[0] for each in loaded)
    writes.memory.close()
