"""A SKU's pricing as shopflow keeps it: its inputs, the competitors last seen, and per channel the
price it set, that price's 30-day record (Omnibus) and the last decision (issue 16).

One record per SKU (`store/pricing.py`), so a reprice reads a hundred SKUs in one batch and writes
only those whose record changed. Pure: no I/O; money as `Decimal`, stored as decimal strings.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from shopflow.pricing.model import (
    CompetitorObservation,
    ListingPrice,
    PriceDecision,
    SkuPricing,
    amount_of,
    text,
)

SHARDS = 16  # a reprice runs shard by shard (one queue message each); 100,000 SKUs: 6,250 a shard
OMNIBUS_DAYS = 30  # art. 6a of Directive 98/6/EC: the lowest price of the 30 days before a cut
DEFAULT_GROUP = "default"


def shard_of(sku: str) -> int:
    return zlib.crc32(sku.encode()) % SHARDS


def _moment(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _stamp(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(frozen=True, slots=True)
class PricePoint:
    """From `at` on, the channel showed `price` (until the next point)."""

    at: datetime
    price: Decimal


def lowest_30d(points: Iterable[PricePoint], at: datetime) -> Decimal | None:
    """The lowest price in force at any moment of the 30 days before `at` (the price in force when
    the window opened counts); None when the channel shows no price from before `at`."""
    start = at - timedelta(days=OMNIBUS_DAYS)
    lowest: Decimal | None = None
    opening: Decimal | None = None  # the price in force when the window opened
    for point in sorted(points, key=lambda point: point.at):
        if point.at >= at:
            break
        if point.at <= start:
            opening = point.price
        elif lowest is None or point.price < lowest:
            lowest = point.price
    if opening is not None and (lowest is None or opening < lowest):
        lowest = opening
    return lowest


def kept_points(points: Iterable[PricePoint], now: datetime) -> tuple[PricePoint, ...]:
    """The points a later `lowest_30d` can still need: the window's, and the one in force when it
    opened (an older price no longer matters)."""
    ordered = sorted(points, key=lambda point: point.at)
    start = now - timedelta(days=OMNIBUS_DAYS)
    opening = [index for index, point in enumerate(ordered) if point.at <= start]
    return tuple(ordered[opening[-1] :] if opening else ordered)


def was_price(points: Iterable[PricePoint], new: Decimal, at: datetime) -> Decimal | None:
    """The prior price a cut to `new` announces: the 30-day low, shown only when `new` is under it
    (never an older, higher price)."""
    low = lowest_30d(points, at)
    return low if low is not None and new < low else None


@dataclass(frozen=True, slots=True)
class Proposal:
    """A change beyond the auto band, waiting for the owner. It rests on `digest` (the inputs it
    was decided from): approved after they changed, it is refused with the reason."""

    proposal_id: str
    sku: str
    channel: str
    currency: str
    old: Decimal | None
    new: Decimal
    rule: str
    reason: str
    digest: str
    proposed_at: datetime

    def as_dict(self) -> dict[str, str | None]:
        return {
            "id": self.proposal_id,
            "sku": self.sku,
            "channel": self.channel,
            "currency": self.currency,
            "old": text(self.old),
            "new": text(self.new),
            "rule": self.rule,
            "reason": self.reason,
            "digest": self.digest,
            "proposed_at": self.proposed_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Proposal:
        return cls(
            proposal_id=str(data["id"]),
            sku=str(data["sku"]),
            channel=str(data["channel"]),
            currency=str(data["currency"]),
            old=amount_of(data.get("old")),
            new=Decimal(str(data["new"])),
            rule=str(data["rule"]),
            reason=str(data["reason"]),
            digest=str(data["digest"]),
            proposed_at=datetime.fromisoformat(str(data["proposed_at"])),
        )


@dataclass(frozen=True, slots=True)
class ChannelPrice:
    """The SKU on one channel: the price shopflow set there (channel currency) and its record."""

    currency: str
    price: Decimal | None = None  # None: shopflow never priced it here
    was: Decimal | None = None  # the announced prior price while the price is a cut
    sequence: int = 0  # one more with every applied price: orders the pushes
    changed_at: datetime | None = None
    day: str | None = None  # the ISO date `day_start` belongs to
    day_start: Decimal | None = None  # the price when that day began (the daily drop budget)
    points: tuple[PricePoint, ...] = ()  # the prices of the last 30 days (Omnibus)
    last: Mapping[str, str | None] | None = None  # the last decision that was not "unchanged"
    proposal: Proposal | None = None  # waiting for the owner
    declined: str | None = None  # the digest of the last proposal the owner rejected

    def listing(self, channel: str, now: datetime) -> ListingPrice:
        today = now.date().isoformat()
        return ListingPrice(
            channel=channel,
            current_price=self.price,
            last_change_at=self.changed_at,
            day_start_price=self.day_start if self.day == today else self.price,
        )

    def lowest_30d(self, now: datetime) -> Decimal | None:
        return lowest_30d(self.points, now)

    def applied(self, new: Decimal, now: datetime) -> ChannelPrice:
        """This channel after shopflow sets `new`: was, sequence, the day's start and the record."""
        today = now.date().isoformat()
        return replace(
            self,
            price=new,
            was=was_price(self.points, new, now),
            sequence=self.sequence + 1,
            changed_at=now,
            day=today,
            day_start=self.day_start if self.day == today else self.price,
            points=kept_points((*self.points, PricePoint(now, new)), now),
            proposal=None,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "price": text(self.price),
            "was": text(self.was),
            "sequence": self.sequence,
            "changed_at": _stamp(self.changed_at),
            "day": self.day,
            "day_start": text(self.day_start),
            "points": [[point.at.isoformat(), text(point.price)] for point in self.points],
            "last": dict(self.last) if self.last is not None else None,
            "proposal": self.proposal.as_dict() if self.proposal is not None else None,
            "declined": self.declined,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChannelPrice:
        proposal = data.get("proposal")
        return cls(
            currency=str(data["currency"]),
            price=amount_of(data.get("price")),
            was=amount_of(data.get("was")),
            sequence=int(data.get("sequence", 0)),
            changed_at=_moment(data.get("changed_at")),
            day=data.get("day"),
            day_start=amount_of(data.get("day_start")),
            points=tuple(
                PricePoint(datetime.fromisoformat(at), Decimal(price)) for at, price in data.get("points", ())
            ),
            last=data.get("last"),
            proposal=Proposal.from_dict(proposal) if proposal else None,
            declined=data.get("declined"),
        )


@dataclass(frozen=True, slots=True)
class PricingInputs:
    """`product.pricing_updated` (or Shopify's `inventory_items/update`): cost and bounds from the
    ERP. A bound left out keeps none; `group` left out keeps the SKU's group."""

    sku: str
    cost: Decimal
    currency: str
    min_price: Decimal | None
    max_price: Decimal | None
    group: str | None
    at: datetime  # when the sender described it: an older description changes nothing


@dataclass(frozen=True, slots=True)
class SkuPrices:
    """Everything pricing keeps of one SKU. `version` guards its writes (compare-and-set)."""

    sku: str
    group: str = DEFAULT_GROUP
    currency: str | None = None  # the base currency of cost and bounds
    cost: Decimal | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    inputs_at: datetime | None = None  # when the ERP last described cost and bounds
    competitors: Mapping[str, CompetitorObservation] = field(default_factory=dict)
    channels: Mapping[str, ChannelPrice] = field(default_factory=dict)
    version: int = 0

    def pricing(self, stock: int | None = None, sales_per_day: Decimal | None = None) -> SkuPricing:
        """The engine's view of the SKU (without cost, or currency, it is not repriced)."""
        return SkuPricing(
            sku=self.sku,
            currency=self.currency or "",
            cost=self.cost if self.currency else None,
            min_price=self.min_price,
            max_price=self.max_price,
            stock=stock,
            sales_per_day=sales_per_day,
        )

    def with_shop_prices(self, prices: Mapping[str, tuple[Decimal, str]], now: datetime) -> SkuPrices:
        """With the shop's own price (channel -> (price, currency), from its catalog) on each channel
        shopflow has not priced yet: the price its decisions start from, in force from `now`."""
        seeded = dict(self.channels)
        for name, (price, currency) in prices.items():
            known = seeded.get(name)
            if known is None or known.price is None:
                base = known or ChannelPrice(currency=currency)
                seeded[name] = replace(base, price=price, points=(PricePoint(now, price),))
        return replace(self, channels=seeded) if seeded != self.channels else self

    def channel(self, name: str, currency: str) -> ChannelPrice:
        return self.channels.get(name) or ChannelPrice(currency=currency)

    def with_channel(self, name: str, price: ChannelPrice) -> SkuPrices:
        return replace(self, channels={**self.channels, name: price})

    def observed(self, seen: CompetitorObservation) -> SkuPrices | None:
        """With `seen` as the competitor's latest offer (one kept per competitor); None when an
        offer seen as late or later is kept already (a redelivery, an older one arriving late)."""
        known = self.competitors.get(seen.competitor)
        if known is not None and known.observed_at >= seen.observed_at:
            return None
        return replace(self, competitors={**self.competitors, seen.competitor: seen})

    def described(self, inputs: PricingInputs) -> SkuPrices | None:
        """With the ERP's cost and bounds; None when a description as recent is kept already."""
        if self.inputs_at is not None and self.inputs_at >= inputs.at:
            return None
        return replace(
            self,
            currency=inputs.currency,
            cost=inputs.cost,
            min_price=inputs.min_price,
            max_price=inputs.max_price,
            group=inputs.group or self.group,
            inputs_at=inputs.at,
        )

    def costed(self, cost: Decimal, currency: str, at: datetime) -> SkuPrices | None:
        """With a platform's cost (its bounds and group kept); None when as recent a one is kept."""
        if self.inputs_at is not None and self.inputs_at >= at:
            return None
        if self.currency is not None and self.currency != currency:
            return None  # the ERP prices it in another currency: its cost stands
        return replace(self, cost=cost, currency=currency, inputs_at=at)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "group": self.group,
            "currency": self.currency,
            "cost": text(self.cost),
            "min_price": text(self.min_price),
            "max_price": text(self.max_price),
            "inputs_at": _stamp(self.inputs_at),
            "competitors": {name: seen.as_data() for name, seen in sorted(self.competitors.items())},
            "channels": {name: price.as_dict() for name, price in sorted(self.channels.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], version: int = 0) -> SkuPrices:
        return cls(
            sku=str(data["sku"]),
            group=str(data.get("group") or DEFAULT_GROUP),
            currency=data.get("currency"),
            cost=amount_of(data.get("cost")),
            min_price=amount_of(data.get("min_price")),
            max_price=amount_of(data.get("max_price")),
            inputs_at=_moment(data.get("inputs_at")),
            competitors={
                name: CompetitorObservation.from_data({**seen, "competitor": name})
                for name, seen in data.get("competitors", {}).items()
            },
            channels={
                name: ChannelPrice.from_dict(price) for name, price in data.get("channels", {}).items()
            },
            version=version,
        )


def decision_digest(decision: PriceDecision) -> str:
    """What a decision rests on, as a short digest: the SKU's cost and bounds, the channel's current
    price, the competitors it kept (not when they were seen: the same offer seen again changes
    nothing) and the price it wants. A proposal approved after this changed is refused."""
    sku, _channel, listing, kept = decision.inputs
    assert isinstance(sku, SkuPricing) and isinstance(listing, ListingPrice)
    offers = sorted(
        (seen.competitor, text(seen.price), text(seen.shipping), seen.currency)
        for seen in kept  # type: ignore[attr-defined]
    )
    parts = (
        sku.sku,
        decision.channel,
        sku.currency,
        text(sku.cost),
        text(sku.min_price),
        text(sku.max_price),
        text(listing.current_price),
        repr(offers),
        text(decision.new),
    )
    return hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).hexdigest()[:16]


def proposal_id(sku: str, channel: str, digest: str) -> str:
    """Short enough to type: `p-` and 10 characters of the SKU, channel and digest."""
    return "p-" + hashlib.sha256(f"{sku}\x1f{channel}\x1f{digest}".encode()).hexdigest()[:10]
