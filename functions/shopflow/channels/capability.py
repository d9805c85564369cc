"""Channels: every sales channel shows what can really be sold (issue 15).

Declares the `channels.<name>.*` settings group. The sync itself (listings, the push queue,
the adapters in `channels/adapters/`) plugs in here as it is built.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from shopflow.channels.model import CHANNEL_NAME, KINDS, Channel, Misconfigured, channel_from
from shopflow.kernel.capability import Capability, Intake, IntakeHandler
from shopflow.kernel.messages import MessageFlow, MessageKind
from shopflow.kernel.settings import Setting, SettingGroup, url_check

if TYPE_CHECKING:
    from shopflow.bootstrap import Runtime
    from shopflow.config.settings import Settings

_API_VERSION = re.compile(r"^20\d\d-(01|04|07|10)$")  # Shopify releases quarterly
OLDEST_API_VERSION = "2026-01"  # changeFromQuantity and @idempotent, which pushes need
_DECIMAL = re.compile(r"[0-9]{1,10}(\.[0-9]{1,4})?")


def _decimal_complaint(value: str, *, below_one: bool = False, above_zero: bool = False) -> str | None:
    """Why `value` is not a decimal amount as a channel's economics need (None: it is)."""
    if not _DECIMAL.fullmatch(value):
        return 'must be a decimal such as "0.12" or "1.50"'
    if below_one and Decimal(value) >= 1:
        return "must be a fraction under 1 (0.12 is 12%)"
    if above_zero and Decimal(value) == 0:
        return "must be above zero"
    return None


CHANNEL_SETTINGS = SettingGroup(
    prefix="channels",
    name_pattern=CHANNEL_NAME,
    what="a channel's name",
    members=(
        Setting(
            "kind",
            "string",
            "What the channel is: shopify (Admin GraphQL), woocommerce (REST v3) or webhook "
            "(shopflow posts signed stock.published events to it).",
            check=lambda value: None if value in KINDS else f"must be one of {', '.join(KINDS)}",
        ),
        Setting(
            "url",
            "string",
            "Where it is: https://{shop}.myshopify.com, the WooCommerce site's root, or the "
            "webhook endpoint.",
            check=url_check,
        ),
        Setting(
            "token",
            "secret",
            "Shopify: an Admin API access token; WooCommerce: consumer_key:consumer_secret; "
            "webhook: the whsec_ secret shopflow signs with.",
        ),
        Setting(
            "location_id",
            "string",
            "Shopify: the location whose available quantity shopflow sets.",
            check=lambda value: None if value.isdigit() else "must be a Shopify location id (digits)",
        ),
        Setting(
            "api_version",
            "string",
            "Shopify: the Admin API version shopflow calls.",
            default="2026-01",
            check=lambda value: (
                None
                if _API_VERSION.match(value) and value >= OLDEST_API_VERSION
                else f"must be a version like 2026-01, not older than {OLDEST_API_VERSION}"
            ),
        ),
        Setting(
            "stock_pct",
            "int",
            "The share of the available stock the channel shows (rounded down).",
            default=100,
            minimum=0,
            maximum=100,
        ),
        Setting(
            "stock_max",
            "int",
            "The most the channel shows of any SKU (not set: no cap).",
            minimum=0,
            maximum=1_000_000_000,
        ),
        Setting(
            "end_when",
            "int",
            "At or below this many available units the channel shows 0 (ends the listing early).",
            default=0,
            minimum=0,
            maximum=1_000_000,
        ),
        Setting("enabled", "bool", "Whether shopflow pushes to the channel.", default=True),
        # The channel's economics, which pricing reads (docs/pricing.md); money in its currency.
        Setting(
            "currency",
            "string",
            "The currency the channel sells in (ISO 4217, PLN). Set, the channel is priced.",
            check=lambda value: (
                None if re.fullmatch(r"[A-Z]{3}", value) else "must be a currency code like PLN"
            ),
        ),
        Setting(
            "commission",
            "string",
            "The channel's commission and payment fee, a fraction of the selling price (0.12 is 12%).",
            check=lambda value: _decimal_complaint(value, below_one=True),
        ),
        Setting(
            "fixed_fee",
            "string",
            "A fee per item sold (decimal, the channel's currency).",
            check=_decimal_complaint,
        ),
        Setting(
            "min_fee",
            "string",
            "The least commission per item (decimal, the channel's currency).",
            check=_decimal_complaint,
        ),
        Setting(
            "fx",
            "string",
            "Units of the channel's currency per unit of the SKUs' base currency (1 when they are the same).",
            check=lambda value: _decimal_complaint(value, above_zero=True),
        ),
        Setting(
            "price_ending",
            "string",
            'The cents its prices end in (".99"); prices are rounded up to it.',
            check=lambda value: None if re.fullmatch(r"\.[0-9]{2}", value) else 'must be cents such as ".99"',
        ),
    ),
)


def intake(runtime: Runtime) -> Mapping[type, IntakeHandler]:
    from shopflow.channels.listings import ReceivedListing

    def record_link(received: ReceivedListing, settings: Settings) -> Intake:
        runtime.listings.link(received.channel, received.sku, received.listing_id, runtime.clock.now())
        ids = {"channel": received.channel, "sku": received.sku, "listing_id": received.listing_id}
        named = received.channel in settings.group_names(CHANNEL_SETTINGS)
        return Intake("accepted", ids, details={} if named else {"note": "no such channel is configured yet"})

    return {ReceivedListing: record_link}


def channels(settings: Settings) -> tuple[Channel | Misconfigured, ...]:
    """Every channel the owner named, in name order: usable, or why not."""
    return tuple(channel_from(name, settings.get) for name in settings.group_names(CHANNEL_SETTINGS))


# The owner's email about a channel: paused, the breaker tripped, drift, pushes given up
# (channels/alerts.py, channels/flow.py): transactional, email.
MESSAGE_KINDS: tuple[MessageKind, ...] = (MessageKind("channel_alert", transactional=True),)


def message_flows(runtime: Runtime) -> Sequence[MessageFlow]:
    from shopflow.channels.flow import ChannelAlertMessages  # only notify loads flows

    return (ChannelAlertMessages(settings=runtime.settings.load, kinds=MESSAGE_KINDS),)


CAPABILITY = Capability(
    name="channels",
    setting_groups=(CHANNEL_SETTINGS,),
    intake=intake,
    kinds=MESSAGE_KINDS,
    events={"ChannelAlert": ("notify",)},
    message_flows=message_flows,
)
