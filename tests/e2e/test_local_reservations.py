"""`shopflow local` end to end: a storefront's checkouts hold stock over signed HTTP, and the last
unit goes to one of them only."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

from tests.e2e.conftest import Instance
from tests.support import dumps, events_headers


def call(instance: Instance, method: str, path: str, body: bytes, secret: str) -> tuple[int, dict[str, Any]]:
    """A request signed as the storefront signs it (Standard Webhooks, real time)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{instance.port}{path}",
        data=body,
        headers=events_headers(body, secret=secret),
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - http to localhost
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_the_last_unit_is_held_for_one_checkout_and_refused_to_the_next(launch: Any) -> None:
    instance = launch()
    secret = instance.cli("config", "get", "webhooks.events.secret", "--reveal")
    assert secret.returncode == 0, secret.stderr
    # Set-up: one unit of a SKU on the shelf (no input sets a count over HTTP yet).
    instance.target.client("dynamodb").put_item(
        TableName=instance.session.table_name,
        Item={
            "pk": {"S": "STOCK#MUG-01"},
            "sk": {"S": "STOCK"},
            "item_type": {"S": "STOCK"},
            **{
                name: {"N": "1" if name in ("on_hand", "atp") else "0"}
                for name in ("on_hand", "reserved", "committed", "safety", "atp", "oversold")
            },
            "updated_at": {"S": datetime.now(UTC).isoformat()},
        },
    )

    def hold(token: str) -> tuple[int, dict[str, Any]]:
        body = dumps({"checkout_token": token, "lines": [{"sku": "MUG-01", "quantity": 1}]})
        return call(instance, "POST", "/reservations", body, secret.stdout.strip())

    first, second = hold("chk-1"), hold("chk-2")

    assert (first[0], first[1]["status"], first[1]["lines"]) == (
        201,
        "held",
        [{"sku": "MUG-01", "quantity": 1}],
    )
    assert second == (
        409,
        {
            "error": "insufficient_stock",
            "message": "not enough stock for every line; nothing was held",
            "short": [{"sku": "MUG-01", "requested": 1, "available": 0}],
        },
    )
    # The first checkout gives its unit back (an empty signed body), and the second gets it.
    released = call(
        instance, "DELETE", f"/reservations/{first[1]['reservation_id']}", b"", secret.stdout.strip()
    )
    assert released == (200, {"reservation_id": first[1]["reservation_id"], "status": "released"})
    assert hold("chk-2")[0] == 201
    # The owner sees the story: chk-2's hold now, chk-1's given back, the refusal nowhere.
    shown = instance.cli("stock", "get", "MUG-01", "--json")
    assert shown.returncode == 0, shown.stderr
    story = json.loads(shown.stdout)
    assert (story["on_hand"], story["reserved"], story["atp"]) == (1, 1, 0)
    assert [(r["checkout_token"], r["status"]) for r in story["reservations"]] == [
        ("chk-2", "held"),
        ("chk-1", "released"),
    ]
    assert [(m["action"], m["cause"]["id"]) for m in story["movements"]][1:] == [
        ("release", first[1]["reservation_id"]),
        ("reserve", first[1]["reservation_id"]),
    ]
