"""`shopflow channels list|status|resume` and the channels section of `shopflow stock get`: the
owner's view of the channels after a real sync (moto, the fake Shopify and WooCommerce servers
over HTTP; the set-up of test_channel_sync.py: MUG-01 listed on Shopify `main` and WooCommerce
`woo`, which shows 50%)."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from pynamodb.connection import Connection

from shopflow import bootstrap
from shopflow.local.fakes.shopify import FakeShopify
from shopflow.local.fakes.woocommerce import FakeWooCommerce
from shopflow.store.models import ChannelStateItem, iso
from shopflow.target import LocalSession, Target
from tests.service.conftest import STAGE, Run, Stack, drain
from tests.service.test_channel_sync import SHOPIFY_ITEM, event, fan_out, push, shops

__all__ = ["shops"]  # the fixture, shared with test_channel_sync.py

Shops = tuple[FakeShopify, FakeWooCommerce]
NOON = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def synced(stack: Stack, shops: Shops) -> Shops:
    """MUG-01 counted at 9 and pushed to both channels at 09:00; TEE-M (3) is listed nowhere;
    CAP (5) is linked to a WooCommerce product that refuses every update."""
    _, woo = shops
    woo.add_product(800, stock=0)
    woo.fail_item("800")
    event(stack, "listing.linked", {"channel": "woo", "sku": "CAP", "listing_id": "800"})
    event(stack, "inventory.set", {"sku": "MUG-01", "on_hand": 9, "sequence": 1})
    event(stack, "inventory.set", {"sku": "TEE-M", "on_hand": 3, "sequence": 1})
    event(stack, "inventory.set", {"sku": "CAP", "on_hand": 5, "sequence": 1})
    assert push(fan_out(stack)) == []
    return shops


@pytest.fixture
def local(stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The CLI flags of a `shopflow local` whose session names this test's table and queues (so
    `--local` finds the push queue as it does in `shopflow local`)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):  # --local sets them: put back after
        monkeypatch.setenv(name, os.environ.get(name, "testing"))
    refs = stack.provisioned.refs
    LocalSession(
        pid=os.getpid(),
        stage=STAGE,
        region="us-east-1",
        table_name=stack.provisioned.table_name(),
        api_url="http://127.0.0.1:8000",
        control_url="http://127.0.0.1:8001",
        endpoints={},  # moto answers in this process
        queues={k: v for k, v in refs.items() if v.startswith("http")},
    ).write(tmp_path)
    yield ["--local", "--data-dir", str(tmp_path)]


def paused(channel: str, reason: str) -> None:
    """The channel paused as the push function or the breaker leaves it (store/channel_sync.py)."""
    ChannelStateItem(
        f"CHANNEL#{channel}", "STATE", item_type="CHANNEL", paused_because=reason, paused_at=iso(NOON)
    ).save()


def rows(text: str) -> dict[str, list[str]]:
    """A printed table's rows by their first column (headings included)."""
    return {line.split()[0]: line.split() for line in text.splitlines() if line.strip()}


def test_list_shows_each_channel_with_its_last_push_and_what_it_shows(
    stack: Stack, synced: Shops, run: Run
) -> None:
    stack.put_setting("channels/erp/kind", "webhook")  # no url, no token yet

    assert run("channels", "list") == 0

    table = rows(run.out)
    assert table["NAME"][:9] == [
        "NAME",
        "KIND",
        "STATE",
        "LAST_PUSH",
        "LISTED",
        "SHOWS",
        "REJECTED",
        "BEHIND",
        "URL",
    ]
    assert table["main"][1:8] == ["shopify", "on", "2026-11-02T09:00:00", "1", "1", "0", "0"]
    assert table["woo"][1:8] == ["woocommerce", "on", "2026-11-02T09:00:00", "2", "1", "1", "0"]
    assert table["erp"][1:3] == ["-", "misconfigured"]
    assert "erp: misconfigured: not set: channels.erp.url, channels.erp.token" in run.out
    synced_shopify, synced_woo = synced
    assert synced_shopify.token not in run.out and synced_woo.token not in run.out


def test_list_json_has_every_channel_and_the_push_queue(stack: Stack, synced: Shops, run: Run) -> None:
    assert run("channels", "list", "--json") == 0

    report = json.loads(run.out)
    woo = next(c for c in report["channels"] if c["name"] == "woo")
    assert woo == {
        "name": "woo",
        "kind": "woocommerce",
        "url": synced[1].url,
        "enabled": True,
        "misconfigured": None,
        "paused": False,
        "paused_because": None,
        "paused_at": None,
        "last_push": "2026-11-02T09:00:00+00:00",
        "shows": 1,
        "rejected": 1,
        "reconciled": None,  # never reconciled yet
        "listed": 2,
        "behind": 0,
    }
    assert "token" not in json.dumps(report)
    # On "AWS" (moto has no CloudFormation stack) the queues cannot be found: said, not guessed.
    assert report["push_queue"]["orders"] is None
    assert "could not read the queues of AWS stage test" in report["push_queue"]["unknown"]


def test_a_paused_channel_shows_why_and_since_when(stack: Stack, shops: Shops, run: Run) -> None:
    _, woo = shops
    woo.revoke_key()
    event(stack, "inventory.set", {"sku": "MUG-01", "on_hand": 6, "sequence": 1})
    assert push(fan_out(stack)) == []

    assert run("channels", "list") == 0
    assert rows(run.out)["woo"][2] == "PAUSED"
    note = next(line for line in run.out.splitlines() if line.startswith("woo: PAUSED"))
    assert note.startswith("woo: PAUSED since 2026-11-02T09:00:00 UTC: Unauthorized:")
    assert note.endswith("(fix it, then `shopflow channels resume woo`)")

    assert run("channels", "status", "woo", "--json") == 0
    report = json.loads(run.out)
    assert report["paused"] is True and report["paused_at"] == "2026-11-02T09:00:00+00:00"
    assert report["paused_because"].startswith("Unauthorized:")
    assert [(r["sku"], r["state"]) for r in report["skus"]] == [("MUG-01", "not pushed yet")]


def test_status_lists_each_sku_on_the_channel_and_what_is_not_listed_there(
    stack: Stack, synced: Shops, run: Run
) -> None:
    event(stack, "inventory.adjusted", {"sku": "MUG-01", "delta": -2, "reason": "breakage"})  # not pushed
    event(stack, "listing.linked", {"channel": "woo", "sku": "HAT", "listing_id": "801"})  # never counted

    assert run("channels", "status", "woo") == 0

    skus = rows(run.out)
    assert skus["SKU"] == ["SKU", "LISTING", "HOW", "SHOULD_SHOW", "SHOWS", "VERSION", "AT", "STATE", "ERROR"]
    assert skus["MUG-01"] == ["MUG-01", "799", "linked", "3", "4", "1", "2026-11-02T09:00:00", "behind"]
    assert skus["CAP"][:8] == ["CAP", "800", "linked", "2", "-", "1", "2026-11-02T09:00:00", "rejected"]
    assert "Sorry, you are not allowed to edit this resource." in " ".join(skus["CAP"])
    assert skus["HAT"] == ["HAT", "801", "linked", "-", "-", "-", "-", "no", "stock", "kept"]
    assert "not listed on woo, so not pushed there (1):\n  TEE-M" in run.out

    assert run("channels", "status", "woo", "--json") == 0
    report = json.loads(run.out)
    mug = next(r for r in report["skus"] if r["sku"] == "MUG-01")
    assert mug == {
        "sku": "MUG-01",
        "listing_id": "799",
        "how": "linked",
        "should_show": 3,  # 50% of 7, rounded down
        "shows": 4,
        "version": 1,
        "stock_version": 2,
        "at": "2026-11-02T09:00:00+00:00",
        "error": None,
        "state": "behind",
    }
    assert report["not_listed"] == ["TEE-M"]


def test_status_of_a_channel_not_in_the_settings_exits_1(stack: Stack, synced: Shops, run: Run) -> None:
    assert run("channels", "status", "amazon") == 1

    assert "shopflow channels: no channel 'amazon' in the settings of AWS stage test" in run.err
    assert run.out == ""


def test_resume_clears_the_pause_and_the_channel_catches_up(
    stack: Stack, shops: Shops, run: Run, local: list[str]
) -> None:
    _, woo = shops
    key = woo.consumer_key
    woo.revoke_key()
    event(stack, "inventory.set", {"sku": "MUG-01", "on_hand": 6, "sequence": 1})
    assert push(fan_out(stack)) == []
    assert woo.stock("799") == 0
    woo.consumer_key = key  # the owner fixed the key

    assert run("channels", "resume", "woo", *local) == 0

    assert run.out.splitlines()[0].startswith(
        "woo resumed (paused since 2026-11-02T09:00:00 UTC: Unauthorized:"
    )
    assert "queued 1 push order(s) on ChannelPushQueue" in run.out
    assert bootstrap.runtime().channel_sync.paused("woo") is None
    orders = drain(stack, "ChannelPushQueue")
    assert len(orders) == 1 and "MUG-01" in orders[0]["body"]
    assert push(orders) == []
    assert woo.stock("799") == 3  # 50% of 6


def test_resume_tries_again_what_the_channel_refused_and_not_what_it_shows(
    stack: Stack, synced: Shops, run: Run, local: list[str]
) -> None:
    paused("woo", "breaker: test")

    assert run("channels", "resume", "woo", *local) == 0

    assert "queued 1 push order(s)" in run.out
    assert "(1 of its 2 listed SKUs with stock already show right)" in run.out
    bodies = [r["body"] for r in drain(stack, "ChannelPushQueue")]
    assert len(bodies) == 1 and "CAP" in bodies[0] and "MUG-01" not in bodies[0]  # MUG-01 shows 4 already


def test_resume_queues_again_an_order_sqs_saw_minutes_ago(
    stack: Stack, shops: Shops, run: Run, local: list[str]
) -> None:
    """A FIFO queue drops a message whose deduplication id it saw in the last 5 minutes: the
    order dropped when the channel paused, or a resume a minute ago, had the same (channel, SKU,
    version). (moto only remembers the ids of messages still queued: the second resume shows it.)"""
    _, woo = shops
    woo.revoke_key()
    event(stack, "inventory.set", {"sku": "MUG-01", "on_hand": 6, "sequence": 1})
    assert push(fan_out(stack)) == []

    assert run("channels", "resume", "woo", *local) == 0
    assert run("channels", "resume", "woo", *local) == 0  # the first one's order still queued

    assert "woo was not paused" in run.out
    assert len(drain(stack, "ChannelPushQueue")) == 2


def test_resume_of_an_unknown_channel_exits_1_and_changes_nothing(
    stack: Stack, shops: Shops, run: Run, local: list[str]
) -> None:
    assert run("channels", "resume", "amazon", *local) == 1

    assert "no channel 'amazon'" in run.err
    assert drain(stack, "ChannelPushQueue") == []


def test_resume_without_the_push_queue_changes_nothing(stack: Stack, shops: Shops, run: Run) -> None:
    paused("woo", "Unauthorized: test")

    assert run("channels", "resume", "woo") == 1  # "AWS": moto has no stack to find the queue in

    assert "cannot queue the push orders" in run.err and "nothing changed" in run.err
    assert bootstrap.runtime().channel_sync.paused("woo") == "Unauthorized: test"


def test_list_shows_the_push_queue_s_depth_and_dead_letters(
    stack: Stack, shops: Shops, run: Run, local: list[str]
) -> None:
    from app import channel_fanout
    from tests.service.conftest import stream_event

    event(stack, "inventory.set", {"sku": "MUG-01", "on_hand": 9, "sequence": 1})
    channel_fanout(stream_event(stack, "ChannelFanoutFunction", "StockStream"), None)  # 2 orders, not pushed
    boto3.client("sqs").send_message(
        QueueUrl=stack.provisioned.refs["ChannelPushDeadLetterQueue"],
        MessageBody="{}",
        MessageGroupId="woo#MUG-01",
        MessageDeduplicationId="dead-1",
    )

    assert run("channels", "list", *local) == 0
    assert "push queue: 2 waiting, 0 being pushed; dead letters: 1" in run.out

    assert run("channels", "list", "--json", *local) == 0
    assert json.loads(run.out)["push_queue"] == {
        "orders": {"waiting": 2, "in_flight": 0},
        "dead_letters": {"waiting": 1, "in_flight": 0},
        "unknown": None,
    }


def test_on_aws_the_queues_are_found_through_the_stack_that_holds_the_table(
    stack: Stack, shops: Shops, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    cloudformation = boto3.client("cloudformation")
    stubber = Stubber(cloudformation)
    for logical_id in ("ChannelPushQueue", "ChannelPushDeadLetterQueue"):
        stubber.add_response(
            "describe_stack_resources",
            {"StackResources": [_resource(logical_id, stack.provisioned.refs[logical_id])]},
            {"PhysicalResourceId": f"shopflow-{STAGE}", "LogicalResourceId": logical_id},
        )
    real = Target.client

    def client(self: Target, service: str) -> Any:
        return cloudformation if service == "cloudformation" else real(self, service)

    monkeypatch.setattr(Target, "client", client)
    event(stack, "inventory.set", {"sku": "MUG-01", "on_hand": 9, "sequence": 1})
    fan_out(stack)  # drained: nothing left waiting

    with stubber:
        assert run("channels", "list") == 0

    assert "push queue: 0 waiting, 0 being pushed; dead letters: 0" in run.out


def _resource(logical_id: str, url: str) -> dict[str, Any]:
    return {
        "StackName": f"shopflow-{STAGE}",
        "LogicalResourceId": logical_id,
        "PhysicalResourceId": url,
        "ResourceType": "AWS::SQS::Queue",
        "Timestamp": datetime(2026, 11, 1, tzinfo=UTC),
        "ResourceStatus": "CREATE_COMPLETE",
    }


def test_stock_get_says_where_the_sku_is_listed_and_what_each_channel_shows(
    stack: Stack, synced: Shops, run: Run
) -> None:
    assert run("stock", "get", "MUG-01") == 0

    section = run.out.split("at which stock version):\n", 1)[1].split("\n\n", 1)[0]
    table = rows(section)
    assert table["main"][1:7] == [str(SHOPIFY_ITEM), "linked", "9", "9", "1", "2026-11-02T09:00:00"]
    assert table["woo"][1:7] == ["799", "linked", "4", "4", "1", "2026-11-02T09:00:00"]

    assert run("stock", "get", "TEE-M") == 0
    assert "main: not listed: not pushed there" in run.out
    assert "woo: not listed: not pushed there" in run.out

    assert run("stock", "get", "CAP", "--json") == 0
    channels = {c["channel"]: c for c in json.loads(run.out)["channels"]}
    assert channels["main"] == {"channel": "main", "listed": False, "note": "not listed: not pushed there"}
    assert channels["woo"] == {
        "channel": "woo",
        "listed": True,
        "listing_id": "800",
        "how": "linked",
        "should_show": 2,
        "shows": None,
        "version": 1,
        "at": "2026-11-02T09:00:00+00:00",
        "error": "woocommerce_rest_cannot_edit: Sorry, you are not allowed to edit this resource.",
    }


def test_a_channel_s_skus_are_found_across_scan_pages(
    stack: Stack, synced: Shops, run: Run, monkeypatch: pytest.MonkeyPatch, dynamodb_calls: Counter[str]
) -> None:
    assert run("channels", "status", "woo", "--json") == 0
    whole = json.loads(run.out)
    real = Connection.scan

    def small_pages(self: Connection, *args: Any, **kwargs: Any) -> Any:
        return real(self, *args, **{**kwargs, "limit": 3})  # 3 items read per page

    monkeypatch.setattr(Connection, "scan", small_pages)
    dynamodb_calls.clear()
    assert run("channels", "status", "woo", "--json") == 0

    assert json.loads(run.out) == whole
    assert dynamodb_calls["Scan"] >= 5  # the whole table, 3 items a page
    assert dynamodb_calls["GetItem"] == 1  # the channel's pause; the rest came with the Scan
