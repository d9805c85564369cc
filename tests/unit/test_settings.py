"""The owner's settings: typed, validated, and a bad value never stops the pipeline."""

from __future__ import annotations

import logging

import pytest

from shopflow.config import SETTINGS, SettingError, SettingsLoader, parse_setting


class FakeSSM:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.down = False

    def __call__(self) -> dict[str, str]:
        if self.down:
            raise ConnectionError("SSM unreachable")
        return dict(self.values)


def test_defaults_apply_when_nothing_is_set() -> None:
    settings = SettingsLoader("dev", fetch=FakeSSM({})).load()

    assert settings.dedup_retention_days == 8
    assert settings.shopify_shop_domains == frozenset()
    assert settings.secrets("shopify") == ()


def test_values_are_typed() -> None:
    settings = SettingsLoader(
        "dev",
        fetch=FakeSSM(
            {
                "webhooks/shopify/shop_domains": " Demo-Shop.myshopify.com, other.myshopify.com ",
                "webhooks/shopify/secret": "s" * 32,
                "webhooks/shopify/previous_secret": "p" * 32,
                "dedup/retention_days": "14",
            }
        ),
    ).load()

    assert settings.shopify_shop_domains == frozenset({"demo-shop.myshopify.com", "other.myshopify.com"})
    assert settings.secrets("shopify") == ("s" * 32, "p" * 32)
    assert settings.dedup_retention_days == 14


def test_a_bad_value_falls_back_to_the_last_good_one_and_is_logged() -> None:
    ssm = FakeSSM({"dedup/retention_days": "10"})
    loader = SettingsLoader("dev", fetch=ssm)
    assert loader.load().dedup_retention_days == 10

    ssm.values["dedup/retention_days"] = "3"  # below the 7-day minimum
    seen: list[logging.LogRecord] = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = seen.append  # type: ignore[method-assign]
    logging.getLogger("shopflow").addHandler(handler)  # Powertools' logger, whatever its propagation
    try:
        settings = loader.load()
    finally:
        logging.getLogger("shopflow").removeHandler(handler)

    assert settings.dedup_retention_days == 10
    [record] = [r for r in seen if r.getMessage() == "invalid setting ignored"]
    assert record.setting == "dedup.retention_days"  # type: ignore[attr-defined]
    assert "at least 7" in record.reason  # type: ignore[attr-defined]
    assert record.using == "last good value"  # type: ignore[attr-defined]


def test_a_bad_value_with_no_good_one_yet_uses_the_default() -> None:
    settings = SettingsLoader("dev", fetch=FakeSSM({"dedup/retention_days": "soon"})).load()

    assert settings.dedup_retention_days == 8


def test_ssm_outage_keeps_the_last_good_settings() -> None:
    ssm = FakeSSM({"webhooks/shopify/shop_domains": "demo.myshopify.com"})
    loader = SettingsLoader("dev", fetch=ssm)
    loader.load()
    ssm.down = True

    assert loader.load().shopify_shop_domains == frozenset({"demo.myshopify.com"})


@pytest.mark.parametrize(
    ("key", "raw", "complaint"),
    [
        ("dedup.retention_days", "abc", "whole number"),
        ("dedup.retention_days", "91", "at most 90"),
        ("webhooks.shopify.shop_domains", "shop.example.com", "myshopify.com"),
        ("webhooks.events.secret", "not-whsec", "whsec_"),
        ("webhooks.shopify.secret", "short", "at least 16"),
        ("webhooks.nope", "1", "unknown setting"),
        ("notify.replenishment.periods", "sku:CAT-2KG=30, cat food=10", "is not sku:<SKU>=<days>"),
        ("notify.replenishment.periods", "tag:coffee=0", "days per unit must be 1 to 365"),
        ("notify.replenishment.url_template", "https://shop.example/p/{sku}/{name}", "may use only"),
    ],
)
def test_invalid_values_are_refused_with_the_key_named(key: str, raw: str, complaint: str) -> None:
    with pytest.raises(SettingError, match=complaint) as error:
        parse_setting(key, raw)
    assert str(error.value).startswith(key)


@pytest.mark.parametrize(
    "secret",
    [
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",  # no prefix
        "whsec_dhRKqL5M5AzZZgvJAYpkBu0hW2wGRoLMcw",  # a 25-byte key without its == padding
        "dhRKqL5M5AzZZgvJAYpkBu0hW2wGRoLMcw==",
    ],
)
def test_standard_webhooks_secrets_the_reference_library_accepts_are_accepted(secret: str) -> None:
    assert parse_setting("webhooks.events.secret", secret) == secret
    assert parse_setting("webhooks.events.previous_secret", secret) == secret


def test_every_webhook_setting_of_the_interface_exists() -> None:
    keys = {s.key for s in SETTINGS}
    for sender in ("shopify", "woocommerce", "events"):
        assert {f"webhooks.{sender}.secret", f"webhooks.{sender}.previous_secret"} <= keys
    assert "webhooks.shopify.shop_domains" in keys
    assert all(s.secure for s in SETTINGS if s.key.endswith("secret"))
