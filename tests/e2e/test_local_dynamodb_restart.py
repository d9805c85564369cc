"""`shopflow local` when its DynamoDB Local dies under it (killed, out of memory)."""

from __future__ import annotations

import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.e2e.conftest import Instance
from tests.e2e.test_local import configure, emails, text_of
from tests.support import corpus, dumps, shopify_headers


def dynamodb_local_pid(instance: Instance) -> int:
    """The Java process of this instance's DynamoDB Local (it runs on <data dir>/dynamodb)."""
    marker = str((instance.data_dir / "dynamodb").resolve()).encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if command[0].endswith(b"java") and marker in command:
                return int(entry.name)
    raise AssertionError(f"no DynamoDB Local runs on {marker.decode()}")


def post_order(instance: Instance, secret: str, number: int) -> tuple[int, str | None]:
    """A signed new Shopify order: the status and the Retry-After header of the answer."""
    order = {**corpus("shopify/order.json"), "id": number, "name": f"#{number}"}
    body = dumps(order)
    request = urllib.request.Request(
        f"http://127.0.0.1:{instance.port}/webhooks/shopify",
        data=body,
        headers=shopify_headers(body, "orders/create", secret=secret),
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - http to localhost
            return answer.status, answer.headers.get("Retry-After")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Retry-After")


def test_a_killed_dynamodb_local_is_restarted_on_its_data_and_meanwhile_the_api_says_retry(
    launch: Any,
) -> None:
    instance = launch()
    secret = configure(instance)
    assert post_order(instance, secret, 930001)[0] == 200
    assert len(emails(instance, expected=1)) == 1

    os.kill(dynamodb_local_pid(instance), signal.SIGKILL)
    # The sender retries as Shopify does. Whether it meets the outage depends on how fast the JVM
    # comes back against botocore's own retries (on an idle machine 2 s is within them): every
    # answer is an acceptance or a 503 that says when to retry, never a bare 500.
    answers: list[tuple[int, str | None]] = []
    deadline = time.monotonic() + 90
    while not answers or (answers[-1][0] != 200 and time.monotonic() < deadline):
        answers.append(post_order(instance, secret, 930002))
        time.sleep(0.5 if answers[-1][0] != 200 else 0)
    assert answers[-1][0] == 200, (answers, instance.output)
    assert all(status == 503 and int(retry_after or 0) > 0 for status, retry_after in answers[:-1]), (
        answers,
        instance.output,
    )
    instance.wait_for("DynamoDB Local is back", timeout=30)
    assert "DynamoDB Local exited" in instance.output

    # The order from before the kill is still there, and the new one goes all the way to its email.
    assert instance.cli("orders", "get", "shopify:930001").returncode == 0
    assert instance.cli("orders", "get", "shopify:930002").returncode == 0
    sent = emails(instance, expected=2, timeout=60)
    assert [n for n in ("#930001", "#930002") if any(n in text_of(m) for m in sent)] == [
        "#930001",
        "#930002",
    ], instance.output
    assert instance.process.poll() is None


def test_a_dynamodb_local_that_dies_again_at_once_stops_the_runtime_with_the_reason(launch: Any) -> None:
    instance = launch()
    os.kill(dynamodb_local_pid(instance), signal.SIGKILL)
    instance.wait_for("DynamoDB Local is back", timeout=90)
    os.kill(dynamodb_local_pid(instance), signal.SIGKILL)

    instance.wait_for("shopflow local stops: DynamoDB Local exited", timeout=30)
    assert instance.process.wait(timeout=60) == 1
