"""`shopflow local` restarts: what the start's outbox check sends again, and who counts as running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from shopflow.local.instance_lock import InstanceLock
from shopflow.local.outbox_check import Journal, LiveStream, OutboxCheck
from shopflow.local.runtime import LocalError, LocalOptions, LocalRuntime
from shopflow.target import LOCAL_REGION, LocalSession, TargetError

TABLE = "shopflow-local"
NOTIFY = "NotifyQueue"
BEFORE_START = "2025-03-01T10:00:00.000000Z"
STARTED_AT = "2025-03-01T12:00:00.000000Z"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=LOCAL_REGION)
        client.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def put_outbox_item(dynamodb: Any, outbox_id: str, created_at: str = BEFORE_START) -> None:
    dynamodb.put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": f"OUTBOX#{outbox_id}"},
            "sk": {"S": "OUTBOX"},
            "item_type": {"S": "OUTBOX"},
            "outbox_id": {"S": outbox_id},
            "event_type": {"S": "OrderPlaced"},
            "payload": {"S": "{}"},
            "created_at": {"S": created_at},
        },
    )


class Resent:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.lines: list[str] = []

    @property
    def outbox_ids(self) -> list[str]:
        return [r["dynamodb"]["NewImage"]["outbox_id"]["S"] for r in self.records]


def check(
    dynamodb: Any,
    data_dir: Path,
    resent: Resent,
    *,
    started_at: str = STARTED_AT,
    live: LiveStream | None = None,
) -> OutboxCheck:
    """The check as the runtime wires it: dispatch routes OrderPlaced to the notify queue only,
    although the timers queue has a consumer too (its messages carry no outbox id)."""
    return OutboxCheck(
        dynamodb=dynamodb,
        table_name=TABLE,
        journal=Journal(data_dir / "journal.jsonl").load(),
        queues_for=lambda event_type: {NOTIFY} if event_type == "OrderPlaced" else set(),
        deliver=resent.records.extend,
        live=live or LiveStream(),
        state_path=data_dir / "outbox_check.json",
        started_at=started_at,
        report=resent.lines.append,
        catch_up_seconds=0.2,
    )


def consumed(data_dir: Path, *outbox_ids: str) -> None:
    journal = Journal(data_dir / "journal.jsonl")
    for outbox_id in outbox_ids:
        journal.record(NOTIFY, outbox_id, "consumed")


def test_items_their_consumer_completed_are_not_sent_again(dynamodb: Any, tmp_path: Path) -> None:
    for n in range(3):
        put_outbox_item(dynamodb, f"shopify:{n}#v1#OrderPlaced")
    consumed(tmp_path, *(f"shopify:{n}#v1#OrderPlaced" for n in range(3)))
    resent = Resent()

    check(dynamodb, tmp_path, resent).run()

    assert resent.outbox_ids == []
    assert resent.lines == [resent.lines[0]] and "nothing to re-send" in resent.lines[0]


def test_an_item_no_consumer_completed_is_sent_again_and_only_it(dynamodb: Any, tmp_path: Path) -> None:
    for n in range(3):
        put_outbox_item(dynamodb, f"shopify:{n}#v1#OrderPlaced")
    consumed(tmp_path, "shopify:0#v1#OrderPlaced", "shopify:2#v1#OrderPlaced")
    resent = Resent()

    check(dynamodb, tmp_path, resent).run()

    assert resent.outbox_ids == ["shopify:1#v1#OrderPlaced"]
    record = resent.records[0]
    assert (record["eventName"], record["dynamodb"]["Keys"]) == (
        "INSERT",
        {"pk": {"S": "OUTBOX#shopify:1#v1#OrderPlaced"}, "sk": {"S": "OUTBOX"}},
    )
    assert "re-sending 1 outbox item(s)" in resent.lines[0]


def test_the_next_check_reads_only_what_came_after_the_last_one(dynamodb: Any, tmp_path: Path) -> None:
    put_outbox_item(dynamodb, "shopify:old#v1#OrderPlaced")
    consumed(tmp_path, "shopify:old#v1#OrderPlaced")
    check(dynamodb, tmp_path, Resent()).run()
    # Written during that run and consumed: the journal keeps it until a later check passes it.
    put_outbox_item(dynamodb, "shopify:new#v1#OrderPlaced", created_at="2025-03-01T12:30:00.000000Z")
    consumed(tmp_path, "shopify:new#v1#OrderPlaced")
    journal = (tmp_path / "journal.jsonl").read_text()
    assert "shopify:old" not in journal and "shopify:new" in journal

    resent = Resent()
    check(dynamodb, tmp_path, resent, started_at="2025-03-01T13:00:00.000000Z").run()

    assert resent.outbox_ids == []
    assert "every one of 1 outbox item(s)" in resent.lines[0]
    assert (tmp_path / "journal.jsonl").read_text() == ""


def test_an_unfinished_item_is_checked_until_a_consumer_completes_it(dynamodb: Any, tmp_path: Path) -> None:
    put_outbox_item(dynamodb, "shopify:1#v1#OrderPlaced")
    first = Resent()
    check(dynamodb, tmp_path, first).run()
    # Killed again before the re-sent item was consumed: the next start sends it once more.
    second = Resent()
    check(dynamodb, tmp_path, second, started_at="2025-03-01T13:00:00.000000Z").run()
    consumed(tmp_path, "shopify:1#v1#OrderPlaced")
    third = Resent()
    check(dynamodb, tmp_path, third, started_at="2025-03-01T14:00:00.000000Z").run()

    assert (first.outbox_ids, second.outbox_ids, third.outbox_ids) == (
        ["shopify:1#v1#OrderPlaced"],
        ["shopify:1#v1#OrderPlaced"],
        [],
    )


def test_an_item_written_since_this_start_is_left_to_the_live_stream(dynamodb: Any, tmp_path: Path) -> None:
    put_outbox_item(dynamodb, "shopify:1#v1#OrderPlaced", created_at="2025-03-01T12:00:01.000000Z")
    live = LiveStream()
    live.saw([{"dynamodb": {"NewImage": {"outbox_id": {"S": "shopify:1#v1#OrderPlaced"}}}}])
    resent = Resent()

    check(dynamodb, tmp_path, resent, live=live).run()

    assert resent.outbox_ids == []


def test_a_check_stopped_midway_leaves_the_item_to_the_next_start(dynamodb: Any, tmp_path: Path) -> None:
    put_outbox_item(dynamodb, "shopify:1#v1#OrderPlaced")
    stopped = check(dynamodb, tmp_path, Resent())
    stopped.stopping.set()  # Ctrl-C while it scans

    stopped.run()
    resent = Resent()
    check(dynamodb, tmp_path, resent, started_at="2025-03-01T13:00:00.000000Z").run()

    assert resent.outbox_ids == ["shopify:1#v1#OrderPlaced"]


# --- who counts as running ---------------------------------------------------------------------


def zombie(*command: str) -> subprocess.Popen[str]:
    """A child killed with SIGKILL and not reaped: its pid still answers kill(pid, 0)."""
    child = subprocess.Popen([sys.executable, "-c", *command], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    child.stdout.readline()  # it is ready
    os.kill(child.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.monotonic() < deadline, "the child did not become a zombie"
        time.sleep(0.01)
    return child


HOLD_THE_LOCK = (
    "import sys, time; from pathlib import Path; from shopflow.local.instance_lock import InstanceLock;"
    "lock = InstanceLock(Path(sys.argv[1])); assert lock.acquire();"
    "print('locked', flush=True); time.sleep(60)"
)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to see a zombie")
def test_a_killed_instance_left_a_zombie_does_not_count_as_running(tmp_path: Path) -> None:
    child = zombie(HOLD_THE_LOCK, str(tmp_path))
    try:
        LocalSession(
            pid=child.pid,
            stage="local",
            region=LOCAL_REGION,
            table_name=TABLE,
            api_url="http://127.0.0.1:1",
            control_url="http://127.0.0.1:2",
            endpoints={},
        ).write(tmp_path)

        with pytest.raises(TargetError, match=f"pid {child.pid}, from .* is not running"):
            LocalSession.read(tmp_path)
        assert InstanceLock(tmp_path).acquire()  # the next `shopflow local` may start
    finally:
        child.wait()


def test_a_live_instance_keeps_the_data_dir_to_itself(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"

        with pytest.raises(LocalError, match=f"already running on this data dir \\(pid {holder.pid}\\)"):
            LocalRuntime(LocalOptions(data_dir=tmp_path), report=lambda line: None).start()
    finally:
        holder.kill()
        holder.wait()
    assert not (tmp_path / "local.json").exists()
