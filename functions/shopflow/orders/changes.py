"""How one delivery changes an order: pure, deterministic, no I/O.

Deliveries arrive late, twice and out of order. Two rules keep the order right whatever
the order of arrival:

* an order body older than the one stored (by the platform's `updated_at`) is stale and
  changes nothing;
* a status only moves along the state machine (`TRANSITIONS`), so a fulfillment that says
  "shipped" after another said "delivered" cannot move the order back.

A fulfillment or refund that arrives before its order creates a stub (`details_received`
False); its events are held back and announced as one `OrderPlaced` when the body arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shopflow.kernel.money import Amount
from shopflow.kernel.timeline import TimelineEntry
from shopflow.orders.model import DiscountCode, Order, OrderStatus, Tracking, can_transition


class _Change(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    order_id: str
    source: str
    external_id: str


class OrderSnapshot(_Change):
    """The whole order as the platform sees it at `updated_at`."""

    kind: Literal["snapshot"] = "snapshot"
    order: Order
    updated_at: datetime


class ShipmentUpdate(_Change):
    """A fulfillment was created or moved on (tracking, shipped, delivered)."""

    kind: Literal["shipment"] = "shipment"
    tracking: tuple[Tracking, ...] = ()
    status: Literal[OrderStatus.SHIPPED, OrderStatus.DELIVERED] | None = None
    occurred_at: datetime


class RefundIssued(_Change):
    kind: Literal["refund"] = "refund"
    refund_id: str
    amount: Amount
    occurred_at: datetime


class StatusUpdate(_Change):
    """A sender states the order's status directly (generic events, WooCommerce deletion)."""

    kind: Literal["status"] = "status"
    status: OrderStatus
    occurred_at: datetime
    # When set, the update is ordered against the order body's `source_updated_at`.
    updated_at: datetime | None = None
    tracking: tuple[Tracking, ...] = ()
    note: str | None = None


class DelayDetected(_Change):
    """The scheduled check found the order paid but not shipped after `hours`: apologise once."""

    kind: Literal["delay"] = "delay"
    coupon: DiscountCode
    hours: int
    occurred_at: datetime


OrderChange = OrderSnapshot | ShipmentUpdate | RefundIssued | StatusUpdate | DelayDetected


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    order_id: str
    status: OrderStatus
    occurred_at: datetime


class OrderPlaced(_Event):
    type: Literal["OrderPlaced"] = "OrderPlaced"


class OrderStatusChanged(_Event):
    type: Literal["OrderStatusChanged"] = "OrderStatusChanged"
    previous_status: OrderStatus


class OrderDelayed(_Event):
    type: Literal["OrderDelayed"] = "OrderDelayed"


DomainEvent = OrderPlaced | OrderStatusChanged | OrderDelayed

# Statuses in which an order is paid and waiting to be shipped: late after the configured hours.
AWAITING_SHIPMENT = frozenset({OrderStatus.PAID, OrderStatus.PROCESSING})


def delivers(event: DomainEvent) -> bool:
    """The event records the order becoming delivered (a late-order notice may carry that status)."""
    return event.status is OrderStatus.DELIVERED and not isinstance(event, OrderDelayed)


@dataclass(frozen=True)
class Outcome:
    # The order after the change; when nothing visible changed, `timeline` is None and the
    # order differs from the stored one at most in `source_updated_at`.
    order: Order | None
    timeline: TimelineEntry | None
    events: tuple[DomainEvent, ...]
    # Why nothing changed ("stale", "no change"); None when the order changed.
    ignored_because: str | None = None

    @property
    def changed(self) -> bool:
        return self.timeline is not None


_MERGED_FIELDS = (
    "number",
    "currency",
    "total",
    "subtotal",
    "shop_currency",
    "shop_total",
    "lines",
    "customer",
    "placed_at",
)


def apply_change(current: Order | None, change: OrderChange, *, via: str, now: datetime) -> Outcome:
    """The order after `change`, what to record and what to announce.

    `via` names what delivered the change (e.g. "shopify orders/paid") for the timeline.
    """
    if isinstance(change, DelayDetected):
        return _apply_delay(current, change, via=via, now=now)
    base = current if current is not None else _stub(change)
    if isinstance(change, OrderSnapshot):
        return _apply_snapshot(current, change, via=via, now=now)
    if isinstance(change, StatusUpdate) and _is_stale(base, change.updated_at):
        return Outcome(current, None, (), ignored_because="stale")

    changes: list[str] = []
    details: list[str] = []
    status = base.status
    tracking = _merge_tracking(base.tracking, getattr(change, "tracking", ()))
    if tracking != base.tracking:
        changes.append("tracking")
        added = [t.number for t in tracking if t not in base.tracking]
        details.append(f"tracking {', '.join(added)} added")
    refunded_total, refund_ids = base.refunded_total, base.refund_ids
    if isinstance(change, RefundIssued) and change.refund_id not in refund_ids:
        refunded_total += change.amount
        refund_ids = (*refund_ids, change.refund_id)
        changes.append("refunded_total")
        details.append(f"refund {change.amount} {base.currency if base.details_received else ''}".rstrip())
    target = change.status if isinstance(change, ShipmentUpdate | StatusUpdate) else None
    if target is not None and target != status and can_transition(status, target):
        status = target
    if isinstance(change, StatusUpdate) and change.note:
        details.append(change.note)

    updated = base.model_copy(
        update={
            "tracking": tracking,
            "refunded_total": refunded_total,
            "refund_ids": refund_ids,
            "status": status,
            "source_updated_at": (
                change.updated_at
                if isinstance(change, StatusUpdate) and change.updated_at
                else base.source_updated_at
            ),
        }
    )
    updated = _settle_refund(updated)
    if updated.status != base.status:
        changes.insert(0, "status")
        details.insert(0, f"status {base.status} -> {updated.status}")
    if not changes and current is not None:
        return _unchanged(current, updated.source_updated_at)

    events = _status_events(base, updated, change.occurred_at) if updated.details_received else ()
    entry = TimelineEntry(
        at=change.occurred_at,
        recorded_at=now,
        event=_event_name(change, "status" in changes),
        status=updated.status,
        source=via,
        detail="; ".join(details) or "recorded",
        changes=tuple(changes),
    )
    return Outcome(updated, entry, events)


def _apply_snapshot(current: Order | None, change: OrderSnapshot, *, via: str, now: datetime) -> Outcome:
    incoming = change.order
    if current is None:
        order = _settle_refund(incoming.model_copy(update={"source_updated_at": change.updated_at}))
        entry = TimelineEntry(
            at=change.updated_at,
            recorded_at=now,
            event="placed",
            status=order.status,
            source=via,
            detail=f"order {order.number} placed: {order.total} {order.currency}, status {order.status}",
            changes=("placed",),
        )
        return Outcome(
            order,
            entry,
            (OrderPlaced(order_id=order.order_id, status=order.status, occurred_at=change.updated_at),),
        )
    if _is_stale(current, change.updated_at):
        return Outcome(current, None, (), ignored_because="stale")

    status = current.status
    if current.details_received:
        if incoming.status != status and can_transition(status, incoming.status):
            status = incoming.status
    elif can_transition(status, incoming.status):
        status = incoming.status
    merged = current.model_copy(
        update={
            **{name: getattr(incoming, name) for name in _MERGED_FIELDS},
            "status": status,
            "tracking": _merge_tracking(current.tracking, incoming.tracking),
            "source_updated_at": change.updated_at,
            "details_received": True,
        }
    )
    merged = _settle_refund(merged)

    if not current.details_received:
        entry = TimelineEntry(
            at=change.updated_at,
            recorded_at=now,
            event="placed",
            status=merged.status,
            source=via,
            detail=f"order {merged.number} details received: {merged.total} {merged.currency}, "
            f"status {merged.status}",
            changes=("placed",),
        )
        return Outcome(
            merged,
            entry,
            (OrderPlaced(order_id=merged.order_id, status=merged.status, occurred_at=change.updated_at),),
        )

    changed = [
        name for name in (*_MERGED_FIELDS, "tracking") if getattr(merged, name) != getattr(current, name)
    ]
    if merged.status != current.status:
        changed.insert(0, "status")
    if not changed:
        return _unchanged(current, change.updated_at)
    detail = "; ".join(
        f"status {current.status} -> {merged.status}" if name == "status" else f"{name} updated"
        for name in changed
    )
    events = _status_events(current, merged, change.updated_at)
    entry = TimelineEntry(
        at=change.updated_at,
        recorded_at=now,
        event="status_changed" if events else "updated",
        status=merged.status,
        source=via,
        detail=detail,
        changes=tuple(changed),
    )
    return Outcome(merged, entry, events)


def _apply_delay(current: Order | None, change: DelayDetected, *, via: str, now: datetime) -> Outcome:
    if current is None or not current.details_received:
        return Outcome(current, None, (), ignored_because="no such order")
    if current.status not in AWAITING_SHIPMENT:
        return Outcome(current, None, (), ignored_because=f"not late: {current.status}")
    if current.delay_coupon is not None:
        return Outcome(current, None, (), ignored_because="already found late")
    coupon = change.coupon
    order = current.model_copy(update={"delay_coupon": coupon})
    entry = TimelineEntry(
        at=change.occurred_at,
        recorded_at=now,
        event="delayed",
        status=order.status,
        source=via,
        detail=f"not shipped {change.hours} h after payment; discount code {coupon.code} "
        f"({coupon.percent}%, valid until {coupon.valid_until:%Y-%m-%d})",
        changes=("delay_coupon",),
    )
    event = OrderDelayed(order_id=order.order_id, status=order.status, occurred_at=change.occurred_at)
    return Outcome(order, entry, (event,))


def _unchanged(current: Order, seen_at: datetime | None) -> Outcome:
    """Nothing the owner sees changed; a newer body still moves the order's watermark.

    Without it, an older body that arrives later would be compared with the older watermark
    and applied over what the newer body confirmed.
    """
    if seen_at is not None and (current.source_updated_at is None or seen_at > current.source_updated_at):
        current = current.model_copy(update={"source_updated_at": seen_at})
    return Outcome(current, None, (), ignored_because="no change")


def _status_events(before: Order, after: Order, at: datetime) -> tuple[DomainEvent, ...]:
    if after.status == before.status:
        return ()
    return (
        OrderStatusChanged(
            order_id=after.order_id, status=after.status, previous_status=before.status, occurred_at=at
        ),
    )


def _is_stale(order: Order, updated_at: datetime | None) -> bool:
    return (
        updated_at is not None
        and order.source_updated_at is not None
        and updated_at < order.source_updated_at
    )


def _merge_tracking(known: tuple[Tracking, ...], new: tuple[Tracking, ...]) -> tuple[Tracking, ...]:
    by_number = {t.number: t for t in known}
    for t in new:
        by_number[t.number] = t
    return tuple(by_number.values())


def _settle_refund(order: Order) -> Order:
    """Fully refunded money makes the order refunded, whichever arrived first."""
    fully_refunded = (
        order.details_received and order.total > Decimal("0") and order.refunded_total >= order.total
    )
    if fully_refunded and can_transition(order.status, OrderStatus.REFUNDED):
        return order.model_copy(update={"status": OrderStatus.REFUNDED})
    return order


def _stub(change: OrderChange) -> Order:
    return Order(
        order_id=change.order_id,
        source=change.source,
        external_id=change.external_id,
        number=change.external_id,
        status=OrderStatus.PENDING,
        currency="XXX",  # ISO 4217 "no currency": the body has not arrived yet
        total=Decimal("0"),
        details_received=False,
    )


def _event_name(change: OrderChange, status_changed: bool) -> str:
    if status_changed:
        return "status_changed"
    return {"shipment": "tracking_updated", "refund": "refund_recorded", "status": "updated"}[change.kind]
