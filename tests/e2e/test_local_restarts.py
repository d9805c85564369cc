"""`shopflow local` restarted as users restart it: after Ctrl-C, after kill -9, fresh."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from tests.e2e.conftest import READY, Instance
from tests.e2e.test_local import configure, emails, send_order
from tests.support import SHOP_DOMAIN, corpus


def outbox_check(instance: Instance) -> str:
    """What the start's outbox check said first: nothing to re-send, or how much it re-sends."""
    return instance.wait_for("outbox item(s)", timeout=120)


def journal_ids(data_dir: Path) -> list[str]:
    return [json.loads(line)["outbox_id"] for line in (data_dir / "journal.jsonl").read_text().splitlines()]


def test_a_restart_sends_again_only_the_item_no_consumer_completed(launch: Any, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = launch(data_dir=data_dir)
    secret = configure(first)
    template = corpus("shopify/order.json")
    for n in range(3):
        order = {**template, "id": 910000 + n, "name": f"#{910000 + n}"}
        assert send_order(first, secret, order, "orders/create")[0] == 200
    assert len(emails(first, expected=3)) == 3
    deadline = time.monotonic() + 30
    while len(journal_ids(data_dir)) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert first.stop() == 0
    # As if the runtime had been killed while the first order's message was on its queue.
    lost, *completed = journal_ids(data_dir)
    (data_dir / "journal.jsonl").write_text(
        "".join(line + "\n" for line in (data_dir / "journal.jsonl").read_text().splitlines()[1:])
    )

    second = launch(data_dir=data_dir)
    said = outbox_check(second)
    deadline = time.monotonic() + 30
    while lost not in journal_ids(data_dir) and time.monotonic() < deadline:
        time.sleep(0.1)

    assert "re-sending 1 outbox item(s) no consumer completed" in said, second.output
    assert journal_ids(data_dir).count(lost) == 1  # consumed once more
    assert all(journal_ids(data_dir).count(done) <= 1 for done in completed)  # the others: not again
    assert len(emails(second)) == 3  # notify had sent it: no second email
    assert second.stop() == 0

    third = launch(data_dir=data_dir)
    assert "outbox check: nothing to re-send" in outbox_check(third), third.output
    assert "re-sending" not in third.output


def test_an_instance_killed_and_not_reaped_does_not_block_the_next_start(launch: Any, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    killed = launch("--in-memory", data_dir=data_dir)
    os.kill(killed.process.pid, signal.SIGKILL)  # and nobody waits for it: a zombie
    deadline = time.monotonic() + 10
    while _state(killed.process.pid) != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert json.loads((data_dir / "local.json").read_text())["pid"] == killed.process.pid

    again = launch("--in-memory", data_dir=data_dir)

    assert READY in again.output and again.session.pid == again.process.pid
    killed.process.wait()


def test_a_second_instance_on_the_same_data_dir_is_refused(launch: Any, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    running = launch("--in-memory", data_dir=data_dir)

    second = launch("--in-memory", data_dir=data_dir, wait=False)
    second.process.wait(timeout=60)
    time.sleep(0.2)

    assert second.process.returncode == 1
    assert f"already running on this data dir (pid {running.process.pid}" in second.output
    assert running.session.pid == running.process.pid  # its session file is untouched


def test_a_fresh_instance_sends_email_from_a_local_sender_and_says_so(launch: Any) -> None:
    instance = launch("--in-memory")
    assert "emails from orders@shopflow-local.example" in instance.wait_for(READY)
    done = instance.cli("config", "set", "webhooks.shopify.shop_domains", SHOP_DOMAIN)
    assert done.returncode == 0, done.stderr
    secret = instance.cli("config", "get", "webhooks.shopify.secret", "--reveal").stdout.strip()

    assert send_order(instance, secret, corpus("shopify/order.json"), "orders/create")[0] == 200

    sent = emails(instance, expected=1)
    assert [m["From"].addresses[0].addr_spec for m in sent] == ["orders@shopflow-local.example"]


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
