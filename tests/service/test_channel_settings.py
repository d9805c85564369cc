"""Channels in settings (issue 15, item 1): one group per channel name, set and shown by
`shopflow config` like every other setting (checked, secrets masked), read by the pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from shopflow.channels.capability import channels
from shopflow.channels.model import Channel, Misconfigured, ShowRules
from shopflow.channels.ports import ChannelConfig
from shopflow.config.settings import SettingsLoader
from tests.service.conftest import Run

STAGE = "test"
ROOT = f"/shopflow/{STAGE}"
TOKEN = "shpat_0123456789abcdef0123456789abcdef"


@pytest.fixture
def ssm() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("ssm")


def stored(ssm: Any) -> dict[str, tuple[str, str]]:
    pages = ssm.get_paginator("get_parameters_by_path").paginate(
        Path=ROOT, Recursive=True, WithDecryption=True
    )
    return {
        p["Name"].removeprefix(ROOT + "/"): (p["Value"], p["Type"])
        for page in pages
        for p in page["Parameters"]
    }


def test_a_channel_is_set_up_with_config_set_and_read_by_the_pipeline(run: Run, ssm: Any) -> None:
    for key, value in (
        ("kind", "shopify"),
        ("url", "https://demo-shop.myshopify.com/"),
        ("token", TOKEN),
        ("location_id", "905684977"),
        ("stock_pct", "80"),
        ("stock_max", "50"),
    ):
        assert run("config", "set", f"channels.main-shop.{key}", value) == 0, run.err
    assert run("config", "set", "channels.allegro.kind", "webhook") == 0

    assert stored(ssm)["channels/main-shop/token"] == (TOKEN, "SecureString")
    settings = SettingsLoader(STAGE, ssm_client=ssm).load()
    assert channels(settings) == (
        Misconfigured("allegro", "not set: channels.allegro.url, channels.allegro.token"),
        Channel(
            ChannelConfig(
                name="main-shop",
                kind="shopify",
                url="https://demo-shop.myshopify.com",
                token=TOKEN,
                location_id="905684977",
                api_version="2026-01",
            ),
            ShowRules(stock_pct=80, stock_max=50, end_when=0),
            enabled=True,
        ),
    )


def test_config_show_lists_a_channels_settings_with_the_secret_masked(run: Run, ssm: Any) -> None:
    assert run("config", "set", "channels.main-shop.token", TOKEN) == 0
    assert run("config", "set", "channels.main-shop.kind", "woocommerce") == 0

    assert run("config", "show") == 0

    rows = {line.split()[0]: line.split()[1:] for line in run.out.splitlines()[2:]}
    assert rows["channels.main-shop.token"] == ["(set)", "ssm", "secret"]
    assert rows["channels.main-shop.kind"] == ["woocommerce", "ssm", "string"]
    assert rows["channels.main-shop.stock_pct"] == ["100", "default", "int"]
    assert TOKEN not in run.out


@pytest.mark.parametrize(
    ("key", "value", "complaint"),
    [
        ("channels.main-shop.kind", "amazon", "must be one of shopify, woocommerce, webhook"),
        ("channels.main-shop.stock_pct", "120", "must be at most 100"),
        ("channels.main-shop.url", "demo-shop.myshopify.com", "must be an http(s):// URL"),
        ("channels.main-shop.api_version", "2026-02", "must be a version like 2026-01"),
        ("channels.main-shop.api_version", "2025-10", "not older than 2026-01"),
        ("channels.Main Shop.kind", "shopify", "unknown setting"),
        ("channels.main-shop.colour", "red", "unknown setting"),
    ],
)
def test_a_bad_channel_setting_is_refused_and_nothing_is_written(
    run: Run, ssm: Any, key: str, value: str, complaint: str
) -> None:
    assert run("config", "set", key, value) != 0

    assert complaint in run.err
    assert stored(ssm) == {}


def test_config_get_reads_a_channels_setting_and_masks_its_token(run: Run, ssm: Any) -> None:
    assert run("config", "set", "channels.main-shop.token", TOKEN) == 0

    assert run("config", "get", "channels.main-shop.stock_pct") == 0
    assert run.out == "100\n"
    assert run("config", "get", "channels.main-shop.token") == 0
    assert run.out == "(set)\n"
    assert run("config", "get", "channels.main-shop.token", "--reveal") == 0
    assert run.out == TOKEN + "\n"
