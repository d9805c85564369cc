"""What the owner's settings say about notifications, as one typed value (read once per batch)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from shopflow.carts.reminders import CartTiming, cart_timing
from shopflow.notifications.kinds import CHANNELS, KINDS, Channel
from shopflow.replenishment.rules import ReplenishmentRules, replenishment_rules

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
    review_url_template: str | None
    product_url_template: str | None  # a product's page in the shop (replenishment reminders)
    marketing_cap: timedelta  # one marketing message per customer per this long
    sms_max_segments: int
    quiet_hours: tuple[time, time] | None  # (start, end) in the customer's day; None: no quiet hours
    enabled: frozenset[tuple[str, Channel]]  # (kind, channel) pairs the owner wants sent
    cart_timing: CartTiming
    pause_after_order: timedelta  # no reminders this long after the customer's last order
    offer_percent: int
    offer_valid: timedelta
    offer_min_total: Decimal
    replenishment: ReplenishmentRules

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
        review_url_template=_text(settings, "notify.review.url_template"),
        product_url_template=_text(settings, "notify.replenishment.url_template"),
        marketing_cap=timedelta(hours=settings.int_value("notify.marketing.cap_hours")),
        sms_max_segments=settings.int_value("notify.sms.max_segments"),
        quiet_hours=_quiet_hours(_text(settings, "notify.sms.quiet_hours")),
        enabled=frozenset(
            (kind, channel)
            for kind in KINDS
            for channel in CHANNELS
            if settings.get(f"notify.{kind}.{channel}") is True
        ),
        cart_timing=cart_timing(settings),
        pause_after_order=timedelta(days=settings.int_value("notify.marketing.pause_after_order_days")),
        offer_percent=settings.int_value("notify.cart_offer.percent"),
        offer_valid=timedelta(days=settings.int_value("notify.cart_offer.valid_days")),
        offer_min_total=Decimal(settings.int_value("notify.cart_offer.min_total")),
        replenishment=replenishment_rules(settings),
    )
