"""Holding a checkout's stock, giving it back, and letting a hold run out.

Each is ONE unit of work (one TransactWriteItems) with no read before it on the way that
succeeds; the SKUs' conditions, not a read, decide (decision 59):

- `reserve(request, repo, now=, hold=)` -> `Held` | `Short`. Every SKU `atp >= quantity` or
  nothing is held. A refused request reads its SKUs once to say what is short and records that
  answer. The same `request.request_id` again (a retried webhook) gets the first answer
  (`duplicate=True`) and holds nothing more.
- `release(reservation_id, repo, now=)` -> `Ended` (the storefront gives a hold back). Reads
  the reservation once for its lines (the DELETE carries only its id), then commits on
  condition it is still HELD. `ReservationNotFound` for an unknown id, `AlreadyCommitted` for a
  paid one; one already released or expired answers its status (`changed=False`).
- `expire(due, repo, now=)` -> `Ended`: the expiry timer's action; its payload carries the
  lines, so it reads nothing. Conditioned on HELD, so a payment racing the expiry wins or
  loses as a whole: the stock is committed or given back, never both, never neither.

Lost races (another transaction held an item: `VersionConflict`) are retried after the
kernel's `back_off`, `MAX_ATTEMPTS` times in all; then `ConcurrentUpdates` (the route's 503).

A route calls, with the verified body and its `webhook-id`:
`reserve(ReservationRequest.model_validate({**body, "request_id": webhook_id}), runtime.stock,
now=runtime.clock.now(), hold=request.hold(stock.capability.hold_minutes(settings)))`.

What the routes answer (issue 14): `Held` -> 201 `{"reservation_id", "status": "held",
"expires_at", "lines"}`; `Short` -> 409 `{"error": "insufficient_stock", "short": [...]}`;
`ReservationNotFound` -> 404; `AlreadyCommitted` -> 409; `Ended` -> 200 with its status;
`ConcurrentUpdates` -> 503. Bad input never gets here: `ReservationRequest` refuses it (400).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from shopflow.kernel.conflicts import (
    MAX_ATTEMPTS,
    ConcurrentUpdates,
    DuplicateDelivery,
    VersionConflict,
    back_off,
)
from shopflow.kernel.timers import TimerRequest
from shopflow.stock.model import (
    RESERVATION_EXPIRY,
    Reservation,
    ReservationDue,
    ReservationRequest,
    ReservationStatus,
    ReservedLine,
    Shortage,
    expiry_timer_id,
    shortages,
)
from shopflow.stock.ports import InsufficientStock, NotHeld, Refusal, StockRepository

Sleep = Callable[[float], None]


class ReservationNotFound(LookupError):
    def __init__(self, reservation_id: str) -> None:
        super().__init__(f"no reservation {reservation_id}")
        self.reservation_id = reservation_id


class AlreadyCommitted(Exception):
    """A paid reservation cannot be released: its stock belongs to the order now."""

    def __init__(self, reservation_id: str) -> None:
        super().__init__(f"reservation {reservation_id} is committed (paid) and cannot be released")
        self.reservation_id = reservation_id


@dataclass(frozen=True)
class Held:
    reservation: Reservation
    duplicate: bool = False  # the request was answered before; this is that answer


@dataclass(frozen=True)
class Short:
    reservation_id: str
    short: tuple[Shortage, ...]
    duplicate: bool = False


@dataclass(frozen=True)
class Ended:
    reservation_id: str
    status: ReservationStatus  # what it is now
    changed: bool  # False: it was no longer HELD, nothing moved


def expiry_timer(reservation: Reservation) -> TimerRequest:
    due = ReservationDue(
        reservation_id=reservation.reservation_id,
        lines=[(line.sku, line.quantity) for line in reservation.lines],
    )
    return TimerRequest(
        expiry_timer_id(reservation.reservation_id),
        RESERVATION_EXPIRY,
        reservation.expires_at,
        due.model_dump_json(),
    )


def reserve(
    request: ReservationRequest,
    repo: StockRepository,
    *,
    now: datetime,
    hold: timedelta,
    sleep: Sleep = time.sleep,
) -> Held | Short:
    reservation = Reservation(
        reservation_id=request.reservation_id(),
        checkout_token=request.checkout_token,
        lines=request.merged,
        status=ReservationStatus.HELD,
        created_at=now,
        expires_at=now + hold,
    )
    for attempt in range(MAX_ATTEMPTS):
        work = repo.unit_of_work()
        repo.stage_hold(reservation, expiry_timer(reservation), work)
        try:
            work.commit()
        except DuplicateDelivery:
            return _first_answer(reservation.reservation_id, repo)
        except VersionConflict:
            back_off(attempt, sleep)
            continue
        except InsufficientStock:
            short = shortages(reservation.lines, repo.items(line.sku for line in reservation.lines))
            if not short:  # given back between the commit and the read: try again
                back_off(attempt, sleep)
                continue
            try:
                repo.record_refusal(
                    Refusal(reservation.reservation_id, reservation.checkout_token, short, now)
                )
            except DuplicateDelivery:  # the same request, answered first by another attempt
                return _first_answer(reservation.reservation_id, repo)
            return Short(reservation.reservation_id, short)
        return Held(reservation)
    raise ConcurrentUpdates("stock", {"reservation_id": reservation.reservation_id})


def _first_answer(reservation_id: str, repo: StockRepository) -> Held | Short:
    found = repo.reservation(reservation_id)
    if isinstance(found, Refusal):
        return Short(reservation_id, found.short, duplicate=True)
    if found is None:  # a marker is never removed while its request may be retried
        raise ReservationNotFound(reservation_id)
    # The first answer: held, as it was then (whatever became of it since).
    return Held(replace(found, status=ReservationStatus.HELD, ended_at=None), duplicate=True)


def release(reservation_id: str, repo: StockRepository, *, now: datetime, sleep: Sleep = time.sleep) -> Ended:
    for attempt in range(MAX_ATTEMPTS):
        found = repo.reservation(reservation_id)
        if found is None or isinstance(found, Refusal):
            raise ReservationNotFound(reservation_id)
        if found.status is ReservationStatus.COMMITTED:
            raise AlreadyCommitted(reservation_id)
        if found.status is not ReservationStatus.HELD:
            return Ended(reservation_id, found.status, changed=False)
        work = repo.unit_of_work()
        repo.stage_end(
            found.ended(ReservationStatus.RELEASED, now), work, cancel_timer=expiry_timer_id(reservation_id)
        )
        try:
            work.commit()
        except NotHeld:
            continue  # committed or expired meanwhile: the next read says which
        except VersionConflict:
            back_off(attempt, sleep)
            continue
        return Ended(reservation_id, ReservationStatus.RELEASED, changed=True)
    raise ConcurrentUpdates("stock", {"reservation_id": reservation_id})


def expire(due: ReservationDue, repo: StockRepository, *, now: datetime, sleep: Sleep = time.sleep) -> Ended:
    """The timer's action. The reservation as the timer knows it: only its id and lines are
    written from it (its status condition guards the rest)."""
    known = Reservation(
        reservation_id=due.reservation_id,
        checkout_token="",
        lines=tuple(ReservedLine(sku, quantity) for sku, quantity in due.lines),
        status=ReservationStatus.EXPIRED,
        created_at=now,
        expires_at=now,
        ended_at=now,
    )
    for attempt in range(MAX_ATTEMPTS):
        work = repo.unit_of_work()
        # The timer item is removed by the timer consumer once this returns.
        repo.stage_end(known, work, cancel_timer=None)
        try:
            work.commit()
        except NotHeld:
            found = repo.reservation(due.reservation_id)
            status = found.status if isinstance(found, Reservation) else ReservationStatus.EXPIRED
            return Ended(due.reservation_id, status, changed=False)
        except VersionConflict:
            back_off(attempt, sleep)
            continue
        return Ended(due.reservation_id, ReservationStatus.EXPIRED, changed=True)
    raise ConcurrentUpdates("stock", {"reservation_id": due.reservation_id})
