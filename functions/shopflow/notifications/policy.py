"""What the owner's settings say about notifications, as one typed value (read once per batch)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta
from typing import TYPE_CHECKING

from shopflow.kernel.messages import CHANNELS, Channel

if TYPE_CHECKING:  # settings are handed in; reading them needs no import
    from shopflow.config.settings import Settings


@dataclass(frozen=True)
class NotifyPolicy:
    shop_name: str | None
    shop_url: str | None
    shop_timezone: str
    locale_fallback: str
    sender: str | None
    reply_to: str | None
    configuration_set: str | None
    unsubscribe_secret: str | None
    marketing_cap: timedelta  # one marketing message per customer per this long
    sms_max_segments: int
    quiet_hours: tuple[time, time] | None  # (start, end) in the customer's day; None: no quiet hours
    enabled: frozenset[tuple[str, Channel]]  # (kind, channel) pairs the owner wants sent

    def sends(self, kind: str, channel: Channel) -> bool:
        return (kind, channel) in self.enabled


def _text(settings: Settings, key: str) -> str | None:
    value = settings.get(key)
    return value if isinstance(value, str) and value else None


def _quiet_hours(text: str | None) -> tuple[time, time] | None:
    if not text or text == "off":
        return None
    start, end = text.split("-")
    return time.fromisoformat(start), time.fromisoformat(end)


def policy_from(settings: Settings) -> NotifyPolicy:
    return NotifyPolicy(
        shop_name=_text(settings, "shop.name"),
        shop_url=_text(settings, "shop.url"),
        shop_timezone=str(settings.get("shop.timezone")),
        locale_fallback=str(settings.get("notify.locale_fallback")),
        sender=_text(settings, "notify.email.sender"),
        reply_to=_text(settings, "notify.email.reply_to"),
        configuration_set=_text(settings, "notify.email.configuration_set"),
        unsubscribe_secret=_text(settings, "notify.unsubscribe.secret"),
        marketing_cap=timedelta(hours=settings.int_value("notify.marketing.cap_hours")),
        sms_max_segments=settings.int_value("notify.sms.max_segments"),
        quiet_hours=_quiet_hours(_text(settings, "notify.sms.quiet_hours")),
        enabled=_enabled(settings),
    )


def _enabled(settings: Settings) -> frozenset[tuple[str, Channel]]:
    """(kind, channel) of every `notify.<kind>.<channel>` switch that is on: each capability
    declares its kinds, and with them these switches (shopflow/capabilities.py)."""
    enabled: set[tuple[str, Channel]] = set()
    for key, value in settings.as_dict().items():
        parts = key.split(".")
        if value is True and len(parts) == 3 and parts[0] == "notify":
            channel = next((c for c in CHANNELS if c == parts[2]), None)
            if channel is not None:
                enabled.add((parts[1], channel))
    return frozenset(enabled)
