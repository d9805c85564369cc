"""Channels as the owner configures them, and what each may show of a SKU. Pure: no I/O.

A channel is one sales channel shopflow keeps in step (`channels.<name>.*` settings): its kind
(shopify, woocommerce, webhook), where and how to reach it (`ports.ChannelConfig`), and how much
of the stock it may show (`ShowRules`). The quantity published to it is

    q = 0 if atp <= end_when else min(stock_max, floor(atp * stock_pct / 100))

so a channel can keep back a share (`stock_pct`), cap what one channel shows (`stock_max`),
and end a listing before the very last unit (`end_when`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast, get_args

from shopflow.channels.ports import ChannelConfig, ChannelKind

CHANNEL_NAME = r"[a-z0-9-]{1,32}"
KINDS: tuple[ChannelKind, ...] = get_args(ChannelKind)


@dataclass(frozen=True)
class ShowRules:
    stock_pct: int = 100
    stock_max: int | None = None
    end_when: int = 0


def published_quantity(atp: int, rules: ShowRules) -> int:
    """What a channel shows for a SKU with `atp` available: never below 0, never above stock_max."""
    if atp <= rules.end_when:
        return 0
    shown = atp * rules.stock_pct // 100  # floor: a share never rounds up to a unit not there
    return shown if rules.stock_max is None else min(shown, rules.stock_max)


@dataclass(frozen=True)
class Channel:
    config: ChannelConfig
    rules: ShowRules
    enabled: bool = True

    @property
    def name(self) -> str:
        return self.config.name


@dataclass(frozen=True)
class Misconfigured:
    """A channel named in the settings that cannot be used yet, and why (shown to the owner)."""

    name: str
    reason: str


Lookup = Callable[[str], object]  # a setting's key -> its typed value (Settings.get)


def channel_from(name: str, get: Lookup) -> Channel | Misconfigured:
    """Channel `name` from its settings (`channels.<name>.<field>`, read through `get`)."""

    def field(key: str) -> object:
        return get(f"channels.{name}.{key}")

    kind, url, token = field("kind"), field("url"), field("token")
    missing = [key for key, value in (("kind", kind), ("url", url), ("token", token)) if not value]
    if missing:
        return Misconfigured(name, f"not set: {', '.join(f'channels.{name}.{key}' for key in missing)}")
    location = field("location_id")
    if kind == "shopify" and not location:
        return Misconfigured(name, f"not set: channels.{name}.location_id (the Shopify location to set)")
    stock_max = field("stock_max")
    config = ChannelConfig(
        name=name,
        kind=cast(ChannelKind, kind),
        url=str(url).rstrip("/"),
        token=str(token),
        location_id=str(location) if location else None,
        api_version=str(field("api_version")),
    )
    rules = ShowRules(
        stock_pct=_int(field("stock_pct"), 100),
        stock_max=stock_max if isinstance(stock_max, int) and not isinstance(stock_max, bool) else None,
        end_when=_int(field("end_when"), 0),
    )
    return Channel(config, rules, enabled=field("enabled") is not False)


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default
