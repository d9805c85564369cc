"""Settings read from SSM (moto): a broken value is survived, secrets are SecureStrings.

Orders keep their deliveries' markers on the order (decision 49); a cart's delivery has a marker
item of its own, kept as long as `dedup.retention_days` says: the retention tests use a cart."""

from __future__ import annotations

from shopflow import bootstrap
from tests.service.conftest import Stack
from tests.support import corpus, dumps, shopify_headers


def test_invalid_value_in_ssm_does_not_stop_intake(stack: Stack) -> None:
    stack.put_setting("dedup/retention_days", "forever")
    bootstrap.reset(stack.clock)
    body = dumps(corpus("shopify/abandoned_checkout.json"))

    response = stack.client.http.post(
        "/webhooks/shopify", headers=shopify_headers(body, "checkouts/create"), body=body
    )

    assert response.json_body["status"] == "accepted"
    [marker] = stack.items_of("DEDUP")
    assert int(marker["expires_at"]) - int(stack.clock.now().timestamp()) == 8 * 24 * 3600  # the default


def test_dedup_markers_are_kept_as_long_as_configured(stack: Stack) -> None:
    stack.put_setting("dedup/retention_days", "30")
    bootstrap.reset(stack.clock)
    body = dumps(corpus("shopify/abandoned_checkout.json"))

    stack.client.http.post("/webhooks/shopify", headers=shopify_headers(body, "checkouts/create"), body=body)

    [marker] = stack.items_of("DEDUP")
    assert int(marker["expires_at"]) - int(stack.clock.now().timestamp()) == 30 * 24 * 3600


def test_settings_are_read_from_the_stage_root(stack: Stack) -> None:
    settings = bootstrap.runtime().settings.load()

    assert bootstrap.runtime().settings.stage == "test"
    assert settings.shopify_shop_domains == frozenset({"demo-shop.myshopify.com"})
    assert len(settings.secrets("shopify")) == 2
