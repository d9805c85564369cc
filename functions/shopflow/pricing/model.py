"""What the pricing engine reads and what it decides: frozen, typed, money as `Decimal`.

Money enters and leaves as decimal strings ("19.99"); `money()` parses the edge, `as_dict()`
prints it. A SKU's own figures are in its base currency; a channel's prices are in the channel's
currency (`Channel.fx` converts base to channel).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any, Literal, NamedTuple

CENT = Decimal("0.01")
ZERO = Decimal(0)
ONE = Decimal(1)

Status = Literal["applied", "proposed", "rejected", "unchanged", "skipped"]


def money(value: str | Decimal | int, field: str = "amount") -> Decimal:
    """A non-negative finite amount from a decimal string; a float is refused (it is not exact)."""
    if isinstance(value, float):  # callers hand in JSON values
        raise ValueError(f'{field}: give money as a decimal string such as "19.99", not a float')
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError):
        raise ValueError(f'{field}: {value!r} is not a decimal amount such as "19.99"') from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{field}: {value!r} must be a finite amount, zero or more")
    return amount


def fraction(value: str | Decimal | int, field: str) -> Decimal:
    """A fraction in [0, 1): a commission or a margin of the selling price."""
    amount = money(value, field)
    if amount >= 1:
        raise ValueError(f"{field}: {value!r} must be a fraction under 1 (0.15 is 15%)")
    return amount


def cents_up(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_CEILING)


def cents_down(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_FLOOR)


def amount_of(value: object) -> Decimal | None:
    """Money back from where shopflow stored it as text ("19.90"); None stays None."""
    return None if value is None else Decimal(str(value))


def text(amount: Decimal | None) -> str | None:
    """Money out: two decimals at least ("19.9" -> "19.90"), never an exponent."""
    if amount is None:
        return None
    if amount == amount.quantize(CENT):
        return f"{amount.quantize(CENT):f}"
    return f"{amount.normalize():f}"


@dataclass(frozen=True, slots=True)
class CompetitorObservation:
    """One competitor's offer for one SKU, as `competitor_price.observed` reports it."""

    competitor: str
    price: Decimal
    currency: str
    in_stock: bool
    observed_at: datetime
    shipping: Decimal = ZERO
    rating: Decimal | None = None

    def as_data(self) -> dict[str, Any]:
        """As `from_data` reads it: money and rating as strings, `observed_at` ISO 8601."""
        return {
            "competitor": self.competitor,
            "price": text(self.price),
            "currency": self.currency,
            "in_stock": self.in_stock,
            "observed_at": self.observed_at.isoformat(),
            "shipping": text(self.shipping),
            "rating": None if self.rating is None else str(self.rating),
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> CompetitorObservation:
        """From the event's data: money and rating as strings, `observed_at` ISO 8601 with a zone."""
        observed_at = datetime.fromisoformat(str(data["observed_at"]))
        if observed_at.tzinfo is None:
            raise ValueError("observed_at: give a time zone (2026-11-29T04:00:00Z)")
        rating = data.get("rating")
        return cls(
            competitor=str(data["competitor"]),
            price=money(data["price"], "price"),
            currency=str(data["currency"]).upper(),
            in_stock=bool(data["in_stock"]),
            observed_at=observed_at,
            shipping=money(data.get("shipping") or "0", "shipping"),
            rating=None if rating is None else money(rating, "rating"),
        )


@dataclass(frozen=True, slots=True)
class DemandEvidence:
    """A fitted price elasticity (ln Q = a + b ln P on weekly sales) and what it rests on."""

    elasticity: Decimal  # b; a profit-maximising price needs b < -1
    weeks_with_sales: int
    distinct_prices: int
    price_ratio: Decimal  # highest / lowest price seen
    ci_upper: Decimal  # upper bound of b's 95% confidence interval

    def is_enough(self) -> bool:
        """The research note's bar (docs/pricing.md): 8 weeks, 3 prices 5% apart, a clear b < -1."""
        return (
            self.weeks_with_sales >= 8
            and self.distinct_prices >= 3
            and self.price_ratio >= Decimal("1.05")
            and self.elasticity < -1
            and self.ci_upper < 0
        )


@dataclass(frozen=True, slots=True)
class SkuPricing:
    """One SKU's pricing inputs in its base currency. Without `cost` the SKU is not repriced."""

    sku: str
    currency: str
    cost: Decimal | None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    stock: int | None = None  # units available to sell
    sales_per_day: Decimal | None = None
    stock_age_days: int | None = None  # for clearance steps
    demand: DemandEvidence | None = None

    @property
    def days_of_cover(self) -> Decimal | None:
        """Stock / daily sales; unsold stock covers forever (None when either is unknown)."""
        if self.stock is None or self.sales_per_day is None:
            return None
        if self.sales_per_day <= 0:
            return Decimal("Infinity") if self.stock > 0 else ZERO
        return Decimal(self.stock) / self.sales_per_day

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> SkuPricing:
        """From `product.pricing_updated` data plus stock and demand figures (strings for money)."""

        def optional(key: str) -> Decimal | None:
            value = data.get(key)
            return None if value is None or value == "" else money(value, key)

        sales = data.get("sales_per_day")
        stock = data.get("stock")
        age = data.get("stock_age_days")
        return cls(
            sku=str(data["sku"]),
            currency=str(data["currency"]).upper(),
            cost=optional("cost"),
            min_price=optional("min_price"),
            max_price=optional("max_price"),
            stock=None if stock is None else int(stock),
            sales_per_day=None if sales is None else money(sales, "sales_per_day"),
            stock_age_days=None if age is None else int(age),
        )


@dataclass(frozen=True, slots=True)
class Channel:
    """A sales channel's economics: `p = (B*fx + fixed_fee) / (1 - commission)`, min fee, ending."""

    name: str
    currency: str
    commission: Decimal = ZERO  # fraction of the selling price (commission + payment)
    fixed_fee: Decimal = ZERO  # per item, channel currency
    min_fee: Decimal = ZERO  # the commission is at least this, channel currency
    fx: Decimal = ONE  # channel currency per unit of base currency
    price_ending: Decimal | None = None  # e.g. 0.99: channel prices end so, rounded up

    @classmethod
    def from_data(cls, name: str, data: Mapping[str, Any]) -> Channel:
        """From `channels.<name>.*` settings as strings; a bad value raises ValueError naming it."""
        ending = data.get("price_ending")
        fx = money(data.get("fx") or "1", f"channels.{name}.fx")
        if fx <= 0:
            raise ValueError(f"channels.{name}.fx: must be above zero")
        return cls(
            name=name,
            currency=str(data["currency"]).upper(),
            commission=fraction(data.get("commission") or "0", f"channels.{name}.commission"),
            fixed_fee=money(data.get("fixed_fee") or "0", f"channels.{name}.fixed_fee"),
            min_fee=money(data.get("min_fee") or "0", f"channels.{name}.min_fee"),
            fx=fx,
            price_ending=None if not ending else parse_ending(str(ending)),
        )


def parse_ending(value: str) -> Decimal:
    """ ".99" -> 0.99: the cents a price ends in."""
    if len(value) != 3 or value[0] != "." or not value[1:].isdigit():
        raise ValueError(f'ending {value!r}: give the cents a price ends in, such as ".99"')
    return Decimal(value)


@dataclass(frozen=True, slots=True)
class ListingPrice:
    """The SKU's price on one channel now, in the channel's currency."""

    channel: str
    current_price: Decimal | None  # None: never priced on this channel
    last_change_at: datetime | None = None
    day_start_price: Decimal | None = None  # price at 00:00; today's drop used = this - current


class Reference(NamedTuple):  # a tuple: built in the engine's hot loop, where a dataclass costs
    """The competitor price the target follows, after filtering (base currency)."""

    price: Decimal
    competitor: str | None  # None for an average


class PriceDecision(NamedTuple):  # immutable; a NamedTuple is built 6x faster than a frozen dataclass
    """What the engine decided for one SKU on one channel, and why. `new` is the price it wants
    (channel currency); only `applied` changes the price, `proposed` waits for the owner."""

    sku: str
    channel: str
    currency: str
    old: Decimal | None
    new: Decimal | None
    status: Status
    rule: str  # the strategy step that set the price, e.g. "lowest/beat 0.01", "floor"
    reason: str  # why this status, e.g. "within auto band 10%", "no cost", "cool-down"
    reference: Reference | None
    floor: Decimal | None
    ceiling: Decimal | None
    inputs: tuple[object, ...]  # the SKU, listing, channel and kept competitors it rests on

    @property
    def price(self) -> Decimal | None:
        """The price the channel shows after this decision."""
        return self.new if self.status == "applied" else self.old

    def as_dict(self) -> dict[str, str | None]:
        """The record at the edge: money as decimal strings."""
        return {
            "sku": self.sku,
            "channel": self.channel,
            "currency": self.currency,
            "old": text(self.old),
            "new": text(self.new),
            "status": self.status,
            "rule": self.rule,
            "reason": self.reason,
            "reference_competitor": None if self.reference is None else self.reference.competitor,
            "reference_price": None if self.reference is None else text(self.reference.price),
            "floor": None if self.floor is None else text(cents_up(self.floor)),
            "ceiling": None if self.ceiling is None else text(cents_down(self.ceiling)),
        }
