"""`shopflow config unset KEY`: a setting back to its default (or not set), through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from shopflow import bootstrap
from tests.service.conftest import STAGE, Run, Stack, running_local_instance
from tests.service.test_config_cli import parameters, put
from tests.support import SHOPIFY_PREVIOUS_SECRET, SHOPIFY_SECRET, corpus, dumps, shopify_headers

ROOT = f"/shopflow/{STAGE}"


def order_signed_with(stack: Stack, secret: str, order_id: int) -> int:
    body = dumps({**corpus("shopify/order.json"), "id": order_id})
    answer = stack.client.http.post(
        "/webhooks/shopify", headers=shopify_headers(body, "orders/create", secret=secret), body=body
    )
    return answer.status_code


def test_unsetting_the_previous_secret_stops_accepting_the_rotated_out_secret(stack: Stack, run: Run) -> None:
    assert order_signed_with(stack, SHOPIFY_PREVIOUS_SECRET, 1) == 200  # during the rotation

    assert run("config", "unset", "webhooks.shopify.previous_secret") == 0

    assert run.out == (f"webhooks.shopify.previous_secret: (set) -> (not set) in AWS stage {STAGE}\n")
    bootstrap.reset(stack.clock)  # a new container reads the settings again
    assert order_signed_with(stack, SHOPIFY_PREVIOUS_SECRET, 2) == 401
    assert order_signed_with(stack, SHOPIFY_SECRET, 3) == 200
    names = parameters(boto3.client("ssm"))
    assert f"{ROOT}/webhooks/shopify/previous_secret" not in names
    assert names[f"{ROOT}/webhooks/shopify/secret"] == (SHOPIFY_SECRET, "SecureString")
    assert SHOPIFY_PREVIOUS_SECRET not in run.out + run.err


def test_set_to_empty_is_still_refused_and_points_to_unset(stack: Stack, run: Run) -> None:
    assert run("config", "set", "webhooks.shopify.previous_secret", "") == 1

    assert run.err == (
        "shopflow config: refused, nothing written: webhooks.shopify.previous_secret: must not be empty "
        "(to remove it: shopflow config unset webhooks.shopify.previous_secret)\n"
    )
    assert f"{ROOT}/webhooks/shopify/previous_secret" in parameters(boto3.client("ssm"))


def test_unset_brings_back_the_default_even_of_an_invalid_value(stack: Stack, run: Run) -> None:
    ssm = boto3.client("ssm")
    assert run("config", "set", "dedup.retention_days", "30") == 0
    put(ssm, "shop/timezone", "Mars/Olympus", "String")

    assert run("config", "unset", "dedup.retention_days") == 0
    assert run.out.startswith("dedup.retention_days: 30 -> 8 (default) in AWS stage test")
    assert run("config", "unset", "shop.timezone") == 0
    assert run.out.startswith(
        "shop.timezone: 'Mars/Olympus' (invalid, so UTC was in use) -> UTC (default) in AWS stage test"
    )

    assert run("config", "show", "--json") == 0
    rows = {r["key"]: r for r in json.loads(run.out)}
    assert (rows["dedup.retention_days"]["value"], rows["dedup.retention_days"]["source"]) == (8, "default")
    assert (rows["shop.timezone"]["value"], rows["shop.timezone"]["source"]) == ("UTC", "default")


def test_unsetting_what_is_not_in_ssm_changes_nothing(stack: Stack, run: Run) -> None:
    before = parameters(boto3.client("ssm"))

    assert run("config", "unset", "notify.email.reply_to") == 0

    assert run.out.startswith("notify.email.reply_to: not in SSM, nothing removed in AWS stage test")
    assert parameters(boto3.client("ssm")) == before


@pytest.mark.parametrize(
    "key", ["webhooks.shopify.secret", "webhooks.woocommerce.secret", "webhooks.events.secret"]
)
def test_a_senders_current_secret_is_required_and_stays(stack: Stack, run: Run, key: str) -> None:
    before = parameters(boto3.client("ssm"))

    assert run("config", "unset", key) == 1

    assert run.err.startswith(f"shopflow config: refused, nothing removed: {key}: required: ")
    assert "refused (401)" in run.err and "previous_secret" in run.err
    assert parameters(boto3.client("ssm")) == before


def test_an_unknown_key_is_refused_with_the_nearest_ones(stack: Stack, run: Run) -> None:
    assert run("config", "unset", "webhooks.shopify.previous_secrt") == 1

    assert run.err == (
        "shopflow config: refused, nothing removed: webhooks.shopify.previous_secrt: unknown setting; "
        "did you mean webhooks.shopify.previous_secret or webhooks.shopify.secret or "
        "webhooks.events.previous_secret?\n"
    )


def test_unset_local_removes_it_from_the_running_instance(run: Run, tmp_path: Path, moto_url: str) -> None:
    local = running_local_instance(tmp_path, moto_url)
    assert (
        run("config", "set", "webhooks.woocommerce.previous_secret", "woo_old_secret_0123456789", *local) == 0
    )

    assert run("config", "unset", "webhooks.woocommerce.previous_secret", *local) == 0

    assert "(set) -> (not set) in shopflow local (stage local)" in run.out
    ssm = boto3.client("ssm", endpoint_url=moto_url, region_name="us-east-1")
    assert parameters(ssm, "/shopflow/local") == {}
