"""What an order does to stock, written with the order's own commit: one TransactWriteItems
for the order, its timeline and its stock (decision 63).

`order_step` says what a status change means: paid -> commit (through its reservation when the
checkout held one: reserved -> committed; else atp -> committed), shipped -> the committed units
leave on_hand (first seen shipped: taken and gone at once), cancelled or refunded before
shipping -> committed back to atp. After shipping nothing moves (returns are not restocks).

The first attempt reads nothing but the checkout's hold pointer (when the order names a
checkout, not a reservation): each SKU is guarded (`atp >= what it takes`, `committed >= what
it gives`), the reservation on still being HELD with the lines assumed. When a guard fails the
whole delivery is retried (`StockChanged` is a lost race to the order service) and this attempt
reads the SKUs, the reservation and, for a shipment or a release, the order's commit entry, and
writes what really is: a paid order is never refused, so a SKU whose atp is short is taken
anyway, the units beyond atp recorded as oversold (on the SKU, the ledger entry and the
owner's report), on condition atp is still what was read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shopflow.kernel.conflicts import VersionConflict
from shopflow.kernel.unit_of_work import UnitOfWork
from shopflow.orders.model import Order
from shopflow.stock.model import (
    Cause,
    LedgerEntry,
    OrderStep,
    OrderUnits,
    Reservation,
    ReservationStatus,
    ReservedLine,
    StockMovement,
    StockPhase,
    merge_lines,
    order_movement,
    order_step,
    oversold_units,
    stock_phase,
)
from shopflow.stock.oversell import OVERSELL_OWED, OversellReport, OversoldLine, oversell_message
from shopflow.stock.ports import Guard, StockRepository

RESERVATION_PREFIX = "reservation:"  # an order's cart token naming the reservation it pays
# The cart tokens that may name the checkout a reservation was made for.
CHECKOUT_TOKENS = ("checkout-token:", "checkout:", "cart:")


class StockChanged(VersionConflict):
    """A SKU or the reservation was not as the first attempt assumed: read, then write again."""


def ordered_units(order: Order) -> tuple[ReservedLine, ...]:
    """The order's units per SKU (lines without a SKU are not stock shopflow keeps)."""
    return merge_lines(
        ReservedLine(line.sku, line.quantity) for line in order.lines if line.sku and line.quantity
    )


class OrderStockWrites:
    """The order writes hook of one delivery (kernel.capability.OrderWrites): called once per
    attempt, so a second call knows the first lost a race and reads first."""

    def __init__(self, repo: StockRepository) -> None:
        self._repo = repo
        self._attempts = 0

    def __call__(
        self, before: Order | None, after: Order, events: tuple[Any, ...], now: datetime, work: UnitOfWork
    ) -> None:
        step = order_step(before.status.value if before else None, after.status.value)
        if step is None:
            return
        self._attempts += 1
        careful = self._attempts > 1
        committed_before = before is not None and stock_phase(before.status.value) is StockPhase.COMMITTED
        if committed_before:
            assert before is not None
            self._settle(before if before.lines else after, step, now, work, careful=careful)
        else:
            self._take(after, step, now, work, careful=careful)

    def _take(self, order: Order, step: OrderStep, now: datetime, work: UnitOfWork, *, careful: bool) -> None:
        cause = Cause("order", order.order_id)
        ordered = {line.sku: line.quantity for line in ordered_units(order)}
        reservation_id, held_lines, lines_known = self._reservation(order, careful=careful)
        held = {line.sku: line.quantity for line in held_lines}
        skus = list(dict.fromkeys([*ordered, *held]))
        if not skus:
            return
        items = self._repo.items(skus) if careful else None
        movements: list[StockMovement] = []
        oversold_lines: list[OversoldLine] = []
        untracked: list[str] = []
        for sku in skus:
            units = OrderUnits(sku, ordered.get(sku, 0), held.get(sku, 0))
            taking = units.from_atp
            guard = Guard(StockChanged, atp_at_least=taking if taking > 0 else None)
            oversold = 0
            if items is not None:
                item = items.get(sku)
                if item is None:
                    untracked.append(sku)
                    continue
                assert item.atp is not None
                oversold = oversold_units(item.atp, taking)
                if oversold:
                    guard = Guard(StockChanged, atp_is=item.atp)
                    oversold_lines.append(OversoldLine(sku, units.ordered, oversold, item.atp - taking))
            movement = order_movement(
                units, step, committed_before=False, cause=cause, at=now, oversold=oversold
            )
            self._repo.stage_move(movement, guard, work)
            movements.append(movement)
        if reservation_id is not None:
            self._repo.stage_commit(
                reservation_id, None if lines_known else held_lines, now, work, fails=StockChanged
            )
        notes = []
        if reservation_id is not None:
            notes.append(f"reservation {reservation_id}")
        if untracked:
            notes.append(f"untracked: {', '.join(untracked)}")
        if movements or untracked:
            self._repo.stage_entry(
                LedgerEntry(cause, step, now, tuple(movements), note="; ".join(notes) or None),
                work,
                once=None,
            )
        if oversold_lines:  # the owner hears of it, if and only if this commit is written
            report = OversellReport(order.order_id, order.number, order.source, tuple(oversold_lines), now)
            self._repo.stage_event(oversell_message(report), OVERSELL_OWED, now, work)

    def _reservation(
        self, order: Order, *, careful: bool
    ) -> tuple[str | None, tuple[ReservedLine, ...], bool]:
        """The HELD reservation the order pays, its lines, and whether those were read (False:
        assumed to be the order's, the commit's condition checks it)."""
        named = [
            t.removeprefix(RESERVATION_PREFIX) for t in order.cart_tokens if t.startswith(RESERVATION_PREFIX)
        ]
        if named:
            reservation_id, lines, known = named[0], ordered_units(order), False
        else:
            checkouts = [
                token.removeprefix(prefix)
                for token in order.cart_tokens
                for prefix in CHECKOUT_TOKENS
                if token.startswith(prefix)
            ]
            holds = self._repo.checkout_holds(checkouts) if checkouts else ()
            if not holds:
                return None, (), True
            reservation_id, lines, known = holds[0].reservation_id, holds[0].lines, True
        if careful:
            found = self._repo.reservation(reservation_id)
            if not isinstance(found, Reservation) or found.status is not ReservationStatus.HELD:
                return None, (), True  # expired, released or unknown: taken from atp directly
            return reservation_id, found.lines, True
        return reservation_id, lines, known

    def _settle(
        self, order: Order, step: OrderStep, now: datetime, work: UnitOfWork, *, careful: bool
    ) -> None:
        """Ship or release what the order committed."""
        cause = Cause("order", order.order_id)
        if careful:  # exactly what its commit took, of the SKUs that still exist
            commit = self._repo.ledger_entry(cause, "commit")
            committed: Sequence[tuple[str, int]] = (
                [(m.sku, m.committed) for m in commit.movements if m.committed > 0] if commit else []
            )
            known = self._repo.items(sku for sku, _ in committed) if committed else {}
            committed = [(sku, quantity) for sku, quantity in committed if sku in known]
        else:
            committed = [(line.sku, line.quantity) for line in ordered_units(order)]
        movements = []
        for sku, quantity in committed:
            movement = order_movement(
                OrderUnits(sku, quantity), step, committed_before=True, cause=cause, at=now
            )
            self._repo.stage_move(movement, Guard(StockChanged, committed_at_least=quantity), work)
            movements.append(movement)
        if movements:
            self._repo.stage_entry(LedgerEntry(cause, step, now, tuple(movements)), work, once=None)
