"""Stock per SKU, its movements, and checkout reservations: pure (no AWS, time handed in).

The numbers of a SKU (`StockItem`), whole units, never Decimal:

- `on_hand`: what the stock master (the ERP, or Shopify) says is in the warehouse;
- `reserved`: held by checkouts right now (HELD reservations);
- `committed`: paid, not shipped yet;
- `safety`: a buffer the owner keeps back (`stock.safety`);
- `atp` (available to promise): what can still be sold. Stored, because a DynamoDB condition
  cannot do arithmetic: every write moves it together with the number it changes, so
  `atp + reserved + committed + safety == on_hand` always (`check_invariant`);
- `oversold`: units paid for that were not there to sell (a paid order is never refused; it
  may drive atp below zero, and this records it for the owner).

A `Reservation` holds a checkout's lines (merged by SKU) until it is paid (COMMITTED), given
back by the storefront (RELEASED) or its time runs out (EXPIRED); only a HELD one moves on.
A `StockMovement` says which numbers of one SKU moved by how much; a reservation's hold and its
end are movements of every line it holds, caused by the reservation (decision 59).

`ReservationRequest` is the storefront's request, validated: lines merged by SKU BEFORE any check
(two lines of one SKU must fit together, medusa#16502), at most `MAX_SKUS` SKUs, positive whole
quantities, hold minutes within `MIN_HOLD_MINUTES..MAX_HOLD_MINUTES`.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, field_validator

# TransactWriteItems takes 100 actions. Reserving stages one conditional update per SKU, the
# reservation and its expiry timer (SKUs + 2); the payment that commits it later stages the
# same SKUs, the reservation, the timer's removal and the order's own writes (its item, its
# timeline line, up to four timers). 90 SKUs keep a reservation's whole life one transaction
# each (decision 59); more is refused, never split.
MAX_SKUS = 90
MAX_LINES = 500  # request lines before merging (a body is bounded anyway; this names the limit)
MAX_QUANTITY = 100_000  # per line and per SKU after merging
MIN_HOLD_MINUTES = 1
MAX_HOLD_MINUTES = 120
MAX_SKU_LENGTH = 100

Sku = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=MAX_SKU_LENGTH, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
]
Quantity = Annotated[StrictInt, Field(ge=1, le=MAX_QUANTITY)]


class StockNumbersBroken(AssertionError):
    """A SKU's numbers do not add up: a write moved one number without the other."""


@dataclass(frozen=True)
class StockItem:
    sku: str
    on_hand: int
    reserved: int = 0
    committed: int = 0
    safety: int = 0
    atp: int | None = None  # None: computed from the others (a new item)
    oversold: int = 0
    sequence: int | None = None  # the highest `inventory.set` sequence applied
    version: int = 0  # how many writes the SKU has had: a later state has a higher version

    def __post_init__(self) -> None:
        if self.atp is None:
            object.__setattr__(self, "atp", self.on_hand - self.reserved - self.committed - self.safety)

    @property
    def available(self) -> int:
        """What a checkout can still hold: atp, never below zero."""
        return max(self.atp or 0, 0)

    @property
    def owed(self) -> int:
        """Units paid for that the shelf cannot cover now (oversold and not restocked since).
        atp below zero with nothing owed means holds or the buffer exceed a lower count."""
        return max(0, self.committed - self.on_hand)


def check_invariant(item: StockItem) -> StockItem:
    """`item` if its numbers add up (and none is negative that may not be); else StockNumbersBroken."""
    assert item.atp is not None
    if item.atp + item.reserved + item.committed + item.safety != item.on_hand:
        raise StockNumbersBroken(
            f"{item.sku}: atp {item.atp} + reserved {item.reserved} + committed {item.committed} "
            f"+ safety {item.safety} != on_hand {item.on_hand}"
        )
    negative = [n for n in ("reserved", "committed", "safety", "oversold") if getattr(item, n) < 0]
    if negative:
        raise StockNumbersBroken(f"{item.sku}: {', '.join(negative)} below zero")
    return item


CauseKind = Literal["reservation", "event", "order"]


@dataclass(frozen=True)
class Cause:
    kind: CauseKind
    id: str  # a reservation id, an input's event id (webhook-id), an order id


@dataclass(frozen=True)
class StockMovement:
    """How one SKU's numbers moved in one write, and why. Every movement keeps the invariant:
    the deltas of atp, reserved, committed and safety add up to the delta of on_hand."""

    sku: str
    cause: Cause
    at: datetime
    action: str  # reserve, release, expire, ...
    atp: int = 0
    reserved: int = 0
    committed: int = 0
    on_hand: int = 0
    safety: int = 0
    # Units of this movement a paid order took beyond what was there to sell (atp went below 0).
    oversold: int = 0

    def applied_to(self, item: StockItem) -> StockItem:
        assert item.atp is not None
        return check_invariant(
            StockItem(
                item.sku,
                on_hand=item.on_hand + self.on_hand,
                reserved=item.reserved + self.reserved,
                committed=item.committed + self.committed,
                safety=item.safety + self.safety,
                atp=item.atp + self.atp,
                oversold=item.oversold + self.oversold,
                sequence=item.sequence,
                version=item.version + 1,
            )
        )


@dataclass(frozen=True)
class LedgerEntry:
    """One input's movements as the ledger keeps them: what caused them (an inventory event, an
    order), what it did (`set`, `adjust`, `commit`, `ship`, `release`), when, and how each SKU
    it touched moved. A reservation's hold and end are ledgered by the reservation itself
    (decision 59); every other movement by one of these, written in the same transaction."""

    cause: Cause
    action: str
    at: datetime
    movements: tuple[StockMovement, ...]
    note: str | None = None  # what the owner should know: the adjustment's reason, a stale sequence

    @property
    def skus(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.sku for m in self.movements))


class ReservationStatus(StrEnum):
    HELD = "held"
    COMMITTED = "committed"
    RELEASED = "released"
    EXPIRED = "expired"


@dataclass(frozen=True)
class ReservedLine:
    sku: str
    quantity: int


@dataclass(frozen=True)
class Reservation:
    reservation_id: str
    checkout_token: str
    lines: tuple[ReservedLine, ...]  # one per SKU
    status: ReservationStatus
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None  # when it was committed, released or expired

    def movements(self, action: str, at: datetime) -> tuple[StockMovement, ...]:
        """What `action` moves on each SKU: a hold takes atp into reserved; a release or an
        expiry gives it back."""
        sign = {"reserve": 1, "release": -1, "expire": -1}[action]
        cause = Cause("reservation", self.reservation_id)
        return tuple(
            StockMovement(
                line.sku, cause, at, action, atp=-sign * line.quantity, reserved=sign * line.quantity
            )
            for line in self.lines
        )

    def ended(self, status: ReservationStatus, at: datetime) -> Reservation:
        return Reservation(
            self.reservation_id, self.checkout_token, self.lines, status, self.created_at, self.expires_at, at
        )


@dataclass(frozen=True)
class Shortage:
    sku: str
    requested: int
    available: int  # never below zero; 0 for a SKU shopflow does not know


def shortages(lines: Iterable[ReservedLine], items: Mapping[str, StockItem]) -> tuple[Shortage, ...]:
    """The lines that do not fit what is available now (an unknown SKU has nothing)."""
    found = []
    for line in lines:
        item = items.get(line.sku)
        available = item.available if item is not None else 0
        if line.quantity > available:
            found.append(Shortage(line.sku, line.quantity, available))
    return tuple(found)


class RequestedLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    sku: Sku
    quantity: Quantity


class ReservationRequest(BaseModel):
    """A checkout asks to hold its lines (POST /reservations). `request_id` is what makes a retry
    the same request (the Standard Webhooks `webhook-id`): it gets the first answer again."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    checkout_token: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    lines: Annotated[list[RequestedLine], Field(min_length=1, max_length=MAX_LINES)]
    hold_minutes: Annotated[StrictInt, Field(ge=MIN_HOLD_MINUTES, le=MAX_HOLD_MINUTES)] | None = None
    request_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None

    @field_validator("lines")
    @classmethod
    def _at_most_max_skus(cls, lines: list[RequestedLine]) -> list[RequestedLine]:
        skus = {line.sku for line in lines}
        if len(skus) > MAX_SKUS:
            raise ValueError(f"at most {MAX_SKUS} different SKUs in one reservation, not {len(skus)}")
        totals = merge_lines(lines)
        too_many = [line.sku for line in totals if line.quantity > MAX_QUANTITY]
        if too_many:
            raise ValueError(f"at most {MAX_QUANTITY} units of one SKU: {', '.join(too_many)}")
        return lines

    @property
    def merged(self) -> tuple[ReservedLine, ...]:
        return merge_lines(self.lines)

    def reservation_id(self) -> str:
        """Derived from the request id, so a retry names the same reservation (and finds it);
        random when the request has none."""
        seed = self.request_id.encode() if self.request_id is not None else uuid.uuid4().bytes
        digest = hashlib.sha256(b"reservation\x00" + seed).digest()[:16]
        return "rsv_" + base64.b32encode(digest).decode().rstrip("=").lower()

    def hold(self, default_minutes: int) -> timedelta:
        return timedelta(minutes=self.hold_minutes if self.hold_minutes is not None else default_minutes)


def merge_lines(lines: Iterable[RequestedLine | ReservedLine]) -> tuple[ReservedLine, ...]:
    """One line per SKU, quantities summed, in the order each SKU first appears."""
    totals: dict[str, int] = {}
    for line in lines:
        totals[line.sku] = totals.get(line.sku, 0) + line.quantity
    return tuple(ReservedLine(sku, quantity) for sku, quantity in totals.items())


# --- what a reservation's expiry timer carries ----------------------------------------------

RESERVATION_EXPIRY = "stock_reservation_expiry"  # the timer action stock registers


def expiry_timer_id(reservation_id: str) -> str:
    return f"stock#{reservation_id}#expiry"


class ReservationDue(BaseModel):
    """The expiry timer's payload: the reservation and its lines, so expiring it reads nothing
    first (a reservation's lines never change once held)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    reservation_id: str
    lines: list[tuple[str, int]]


# --- the owner's safety buffer ----------------------------------------------------------------


@dataclass(frozen=True)
class SafetyRules:
    """`stock.safety`: units kept back per SKU (`sku:MUG-01=2`), `default=N` for every other SKU.
    SKUs match whatever their case, as in every rule setting (the list is lower-cased)."""

    by_sku: Mapping[str, int]
    default: int = 0

    def for_sku(self, sku: str) -> int:
        return self.by_sku.get(sku.lower(), self.default)


MAX_SAFETY = 1_000_000


def parse_safety(entries: Iterable[str]) -> SafetyRules:
    """`("sku:mug-01=2", "default=0")` -> SafetyRules; ValueError names the entry that is wrong."""
    by_sku: dict[str, int] = {}
    default = 0
    for raw in entries:
        entry = raw.strip()
        target, sep, number = entry.rpartition("=")
        target = target.strip()
        if not sep or not number.strip().isdigit():
            raise ValueError(f"{entry!r} is not sku:<SKU>=<units> or default=<units>")
        units = int(number.strip())
        if units > MAX_SAFETY:
            raise ValueError(f"{entry!r}: at most {MAX_SAFETY} units")
        if target.lower() == "default":
            default = units
        elif target.lower().startswith("sku:") and target[4:].strip():
            sku = target[4:].strip().lower()
            if sku in by_sku:
                raise ValueError(f"{entry!r}: SKU {sku} named twice")
            by_sku[sku] = units
        else:
            raise ValueError(f"{entry!r} is not sku:<SKU>=<units> or default=<units>")
    return SafetyRules(by_sku, default)


# --- what the stock master says: absolute counts and adjustments ------------------------------

MAX_ON_HAND = 10_000_000


@dataclass(frozen=True)
class InventorySet:
    """An absolute count from the stock master: the highest `sequence` wins, not the last to arrive.

    `counts` says what the count is: `on_hand` (the ERP's physical count) or `available`
    (Shopify's: what it can still sell, its unfulfilled orders already taken out; those are the
    paid orders shopflow holds as `committed`, so on_hand = available + committed)."""

    sku: str
    count: int
    sequence: int
    counts: Literal["on_hand", "available"] = "on_hand"

    def on_hand(self, item: StockItem | None) -> int:
        if self.counts == "available":
            return self.count + (item.committed if item else 0)
        return self.count


@dataclass(frozen=True)
class InventoryAdjusted:
    """A change by `delta` units (a count correction, breakage, a delivery in), applied once."""

    sku: str
    delta: int
    reason: str


StockChange = InventorySet | InventoryAdjusted


def set_movement(
    item: StockItem | None, change: InventorySet, safety: int, cause: Cause, at: datetime
) -> StockMovement:
    """What setting on_hand to `change.on_hand` (and the safety buffer to `safety`, as the rules
    say now) moves on `item` (None: a SKU counted for the first time)."""
    on_hand = change.on_hand(item) - (item.on_hand if item else 0)
    safety_delta = safety - (item.safety if item else 0)
    return StockMovement(
        change.sku, cause, at, "set", atp=on_hand - safety_delta, on_hand=on_hand, safety=safety_delta
    )


def adjust_movement(change: InventoryAdjusted, cause: Cause, at: datetime) -> StockMovement:
    return StockMovement(change.sku, cause, at, "adjust", atp=change.delta, on_hand=change.delta)


# --- what an order does to stock ---------------------------------------------------------------


class StockPhase(StrEnum):
    """Where an order's units are: not yet taken, paid (committed), gone (shipped), given back."""

    NONE = "none"
    COMMITTED = "committed"
    SHIPPED = "shipped"
    VOID = "void"


OrderStep = Literal["commit", "ship", "release"]


def stock_phase(status: str | None, *, before: StockPhase = StockPhase.NONE) -> StockPhase:
    """The phase of an order in `status` (an OrderStatus value), coming from `before`. Once
    shipped, an order stays shipped for stock (a refund or a return is not a restock: returns
    come later); once void, nothing moves again."""
    if before in (StockPhase.SHIPPED, StockPhase.VOID):
        return before
    if status in ("paid", "processing"):
        return StockPhase.COMMITTED
    if status in ("shipped", "delivered", "returned"):
        return StockPhase.SHIPPED
    if status in ("cancelled", "refunded"):
        return StockPhase.VOID if before is StockPhase.COMMITTED else StockPhase.NONE
    return before  # pending


def order_step(before: str | None, after: str) -> OrderStep | None:
    """What stock does when an order moves from status `before` (None: first seen) to `after`:
    commit (paid), ship (committed units leave on_hand; first seen shipped: both at once),
    release (cancelled or refunded before shipping), or nothing."""
    was = stock_phase(before)
    now = stock_phase(after, before=was)
    if was is now:
        return None
    if now is StockPhase.COMMITTED:
        return "commit"
    if now is StockPhase.SHIPPED:
        return "ship"
    if now is StockPhase.VOID:
        return "release"
    return None


@dataclass(frozen=True)
class OrderUnits:
    """How many units of one SKU an order step moves: `held` of them come out of a reservation
    (reserved), the rest (`ordered - held`, may be negative: a hold larger than the order gives
    the difference back) out of atp."""

    sku: str
    ordered: int
    held: int = 0

    @property
    def from_atp(self) -> int:
        return self.ordered - self.held


def order_movement(
    units: OrderUnits,
    step: OrderStep,
    *,
    committed_before: bool,
    cause: Cause,
    at: datetime,
    oversold: int = 0,
) -> StockMovement:
    """The movement of one SKU for an order's step. `committed_before`: the order's units are in
    `committed` already (it was paid before this step)."""
    if step == "release":
        return StockMovement(units.sku, cause, at, step, atp=units.ordered, committed=-units.ordered)
    if step == "ship" and committed_before:
        return StockMovement(units.sku, cause, at, step, committed=-units.ordered, on_hand=-units.ordered)
    taken = {"atp": -units.from_atp, "reserved": -units.held}
    if step == "commit":
        return StockMovement(units.sku, cause, at, step, committed=units.ordered, oversold=oversold, **taken)
    # first seen shipped: taken and gone at once
    return StockMovement(units.sku, cause, at, step, on_hand=-units.ordered, oversold=oversold, **taken)


def oversold_units(available: int, needed: int) -> int:
    """Units of `needed` beyond what was there (`available` atp, which may already be negative)."""
    return max(0, needed - max(available, 0)) if needed > 0 else 0
