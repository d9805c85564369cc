"""Where stock is kept: a SKU's numbers (`STOCK#{sku}`) and reservations (`RESERVATION#{id}`)
in the single table, staged into the unit of work of the change (`shopflow.stock.ports` says
what each stage means; decision 59 why).

A hold is, in one TransactWriteItems: the reservation (put on `attribute_not_exists`, so it is
also the request's dedup marker), one conditional update per SKU (`atp >= :q`: SET atp = atp - q,
reserved = reserved + q) and the expiry timer (`store/timers.py`). No read before it: an unknown
SKU fails its condition (`atp` does not exist), so it is short with 0 available.

`InMemoryStockRepository` is its twin for unit tests: the same conditions, checked in the
same order, all before any write (`kernel/unit_of_work.py`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from pynamodb.exceptions import PutError

from shopflow.kernel.conflicts import DuplicateDelivery, VersionConflict
from shopflow.kernel.outbox import OutboxMessage
from shopflow.kernel.timers import TimerRequest
from shopflow.kernel.unit_of_work import InMemoryUnitOfWork, UnitOfWork, in_memory
from shopflow.stock.model import (
    Cause,
    CauseKind,
    LedgerEntry,
    Reservation,
    ReservationStatus,
    ReservedLine,
    Shortage,
    StockItem,
    StockMovement,
    expiry_timer_id,
)
from shopflow.stock.ports import CheckoutHold, Guard, InsufficientStock, NotHeld, Refusal
from shopflow.store.models import CheckoutHoldItem, ReservationItem, StockLevelItem, StockMoveItem, iso
from shopflow.store.orders import DynamoOrderStore
from shopflow.store.stock_outbox import InMemoryOutbox, stage_outbox_message
from shopflow.store.timers import DynamoTimers, InMemoryTimers
from shopflow.store.unit_of_work import DynamoUnitOfWork, dynamo

REFUSAL_RETENTION = timedelta(days=8)  # a refused request's answer outlives its sender's retries
# A checkout's pointer to its hold outlives the hold: a payment may come after it expired.
CHECKOUT_HOLD_RETENTION = timedelta(days=8)
_DELTAS = ("atp", "reserved", "committed", "on_hand", "safety", "oversold")
REFUSED = "refused"
_BATCH_GET_LIMIT = 100  # keys per BatchGetItem


def stock_pk(sku: str) -> str:
    return f"STOCK#{sku}"


def reservation_pk(reservation_id: str) -> str:
    return f"RESERVATION#{reservation_id}"


def checkout_pk(checkout_token: str) -> str:
    return f"CHECKOUT#{checkout_token}"


def ledger_pk(cause: Cause) -> str:
    return f"STOCKMOVE#{cause.kind}#{cause.id}"


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class DynamoStockRepository:
    """The stock repository on DynamoDB: stages holds and their ends, reads SKUs and reservations."""

    def __init__(self, orders: DynamoOrderStore) -> None:
        self._orders = orders  # shares its connection for transactions
        self.timers = DynamoTimers()

    def unit_of_work(self) -> DynamoUnitOfWork:
        return DynamoUnitOfWork(self._orders.connection)

    def stage_hold(self, reservation: Reservation, timer: TimerRequest, work: UnitOfWork) -> None:
        transaction = dynamo(work)
        now = iso(reservation.created_at)
        transaction.put(  # staged first: a retried request is a duplicate before it is short
            ReservationItem(
                reservation_pk(reservation.reservation_id),
                "RESERVATION",
                item_type="RESERVATION",
                checkout_token=reservation.checkout_token,
                status=reservation.status.value,
                lines=_lines_json(reservation.lines),
                skus={line.sku for line in reservation.lines},
                created_at=now,
                hold_until=iso(reservation.expires_at),
            ),
            condition=ReservationItem.pk.does_not_exist(),
            if_condition_fails=DuplicateDelivery,
        )
        for line in reservation.lines:
            transaction.update(
                StockLevelItem(stock_pk(line.sku), "STOCK"),
                [
                    StockLevelItem.atp.add(-line.quantity),
                    StockLevelItem.reserved.add(line.quantity),
                    StockLevelItem.updated_at.set(now),
                    StockLevelItem.version.add(1),
                    StockLevelItem.last_cause.set("reservation"),
                ],
                condition=StockLevelItem.atp >= line.quantity,
                if_condition_fails=InsufficientStock,
            )
        transaction.put(
            CheckoutHoldItem(
                checkout_pk(reservation.checkout_token),
                "HOLD",
                item_type="CHECKOUT_HOLD",
                reservation_id=reservation.reservation_id,
                lines=_lines_json(reservation.lines),
                expires_at=int((reservation.expires_at + CHECKOUT_HOLD_RETENTION).timestamp()),
            )
        )
        self.timers.arm(timer, now=reservation.created_at, work=work)

    def stage_end(self, ended: Reservation, work: UnitOfWork, *, cancel_timer: str | None) -> None:
        transaction = dynamo(work)
        assert ended.ended_at is not None
        at = iso(ended.ended_at)
        transaction.update(
            ReservationItem(reservation_pk(ended.reservation_id), "RESERVATION"),
            [ReservationItem.status.set(ended.status.value), ReservationItem.ended_at.set(at)],
            condition=ReservationItem.status == ReservationStatus.HELD.value,
            if_condition_fails=NotHeld,
        )
        for line in ended.lines:
            transaction.update(
                StockLevelItem(stock_pk(line.sku), "STOCK"),
                [
                    StockLevelItem.atp.add(line.quantity),
                    StockLevelItem.reserved.add(-line.quantity),
                    StockLevelItem.updated_at.set(at),
                    StockLevelItem.version.add(1),
                    StockLevelItem.last_cause.set("reservation"),
                ],
            )
        if cancel_timer is not None:
            self.timers.cancel(cancel_timer, work=work)

    def record_refusal(self, refusal: Refusal) -> None:
        item = ReservationItem(
            reservation_pk(refusal.reservation_id),
            "RESERVATION",
            item_type="RESERVATION",
            checkout_token=refusal.checkout_token,
            status=REFUSED,
            lines="[]",
            skus={s.sku for s in refusal.short},
            created_at=iso(refusal.refused_at),
            short=json.dumps([[s.sku, s.requested, s.available] for s in refusal.short]),
            expires_at=int((refusal.refused_at + REFUSAL_RETENTION).timestamp()),
        )
        try:
            item.save(condition=ReservationItem.pk.does_not_exist())
        except PutError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                raise DuplicateDelivery() from exc
            raise

    def reservation(self, reservation_id: str) -> Reservation | Refusal | None:
        try:
            item = ReservationItem.get(reservation_pk(reservation_id), "RESERVATION", consistent_read=True)
        except ReservationItem.DoesNotExist:
            return None
        return reservation_of(reservation_id, item)

    def items(self, skus: Iterable[str]) -> Mapping[str, StockItem]:
        keys = [(stock_pk(sku), "STOCK") for sku in dict.fromkeys(skus)]
        found: dict[str, StockItem] = {}
        for start in range(0, len(keys), _BATCH_GET_LIMIT):
            for item in StockLevelItem.batch_get(
                keys[start : start + _BATCH_GET_LIMIT], consistent_read=True
            ):
                stock = stock_of(item)
                found[stock.sku] = stock
        return found

    def stage_move(
        self, movement: StockMovement, guard: Guard, work: UnitOfWork, *, sequence: int | None = None
    ) -> None:
        transaction = dynamo(work)
        at = iso(movement.at)
        if not guard.exists:  # its first count: the whole item, on condition there is none
            first = replace(movement.applied_to(StockItem(movement.sku, 0, atp=0)), sequence=sequence)
            level = _level_item(first, at)
            level.last_cause = movement.cause.kind
            transaction.put(
                level,
                condition=StockLevelItem.pk.does_not_exist(),
                if_condition_fails=guard.fails,
            )
            return
        actions = [
            getattr(StockLevelItem, name).add(getattr(movement, name))
            for name in _DELTAS
            if getattr(movement, name)
        ]
        actions += [
            StockLevelItem.updated_at.set(at),
            StockLevelItem.version.add(1),
            StockLevelItem.last_cause.set(movement.cause.kind),
        ]
        if sequence is not None:
            actions.append(StockLevelItem.sequence.set(sequence))
        condition = StockLevelItem.atp.exists()
        if guard.atp_at_least is not None:
            condition &= StockLevelItem.atp >= guard.atp_at_least
        if guard.atp_is is not None:
            condition &= StockLevelItem.atp == guard.atp_is
        if guard.committed_at_least is not None:
            condition &= StockLevelItem.committed >= guard.committed_at_least
        if guard.on_hand_at_least is not None:
            condition &= StockLevelItem.on_hand >= guard.on_hand_at_least
        if guard.as_read is not None:
            read = guard.as_read
            condition &= (StockLevelItem.on_hand == read.on_hand) & (StockLevelItem.safety == read.safety)
            condition &= (
                StockLevelItem.sequence.does_not_exist()
                if read.sequence is None
                else StockLevelItem.sequence == read.sequence
            )
        transaction.update(
            StockLevelItem(stock_pk(movement.sku), "STOCK"),
            actions,
            condition=condition,
            if_condition_fails=guard.fails,
        )

    def stage_entry(
        self, entry: LedgerEntry, work: UnitOfWork, *, once: Callable[[], Exception] | None
    ) -> None:
        item = StockMoveItem(
            ledger_pk(entry.cause),
            entry.action,
            item_type="STOCKMOVE",
            skus=set(entry.skus),
            action=entry.action,
            at=iso(entry.at),
            moves=json.dumps(
                [[m.sku, *(getattr(m, name) for name in _DELTAS)] for m in entry.movements],
                separators=(",", ":"),
            ),
            note=entry.note,
        )
        if once is None:
            dynamo(work).put(item)
        else:
            dynamo(work).put(item, condition=StockMoveItem.pk.does_not_exist(), if_condition_fails=once)

    def stage_commit(
        self,
        reservation_id: str,
        lines: tuple[ReservedLine, ...] | None,
        at: datetime,
        work: UnitOfWork,
        *,
        fails: Callable[[], Exception],
    ) -> None:
        condition = ReservationItem.status == ReservationStatus.HELD.value
        if lines is not None:
            condition &= ReservationItem.lines == _lines_json(lines)
        dynamo(work).update(
            ReservationItem(reservation_pk(reservation_id), "RESERVATION"),
            [
                ReservationItem.status.set(ReservationStatus.COMMITTED.value),
                ReservationItem.ended_at.set(iso(at)),
            ],
            condition=condition,
            if_condition_fails=fails,
        )
        self.timers.cancel(expiry_timer_id(reservation_id), work=work)

    def stage_event(
        self, message: OutboxMessage, owed: Sequence[str], now: datetime, work: UnitOfWork
    ) -> None:
        stage_outbox_message(message, owed, now, work)

    def ledger_entry(self, cause: Cause, action: str) -> LedgerEntry | None:
        try:
            item = StockMoveItem.get(ledger_pk(cause), action, consistent_read=True)
        except StockMoveItem.DoesNotExist:
            return None
        return ledger_entry(item)

    def checkout_holds(self, checkout_tokens: Iterable[str]) -> tuple[CheckoutHold, ...]:
        keys = [(checkout_pk(token), "HOLD") for token in dict.fromkeys(checkout_tokens)]
        if not keys:
            return ()
        return tuple(
            CheckoutHold(
                item.pk.removeprefix("CHECKOUT#"),
                item.reservation_id,
                tuple(ReservedLine(sku, int(q)) for sku, q in json.loads(item.lines)),
            )
            for item in CheckoutHoldItem.batch_get(keys[:_BATCH_GET_LIMIT], consistent_read=True)
        )

    def stage_item(self, item: StockItem, now: datetime, work: UnitOfWork) -> None:
        dynamo(work).put(_level_item(item, iso(now)))


def _level_item(item: StockItem, at: str) -> StockLevelItem:
    assert item.atp is not None
    return StockLevelItem(
        stock_pk(item.sku),
        "STOCK",
        item_type="STOCK",
        on_hand=item.on_hand,
        reserved=item.reserved,
        committed=item.committed,
        safety=item.safety,
        atp=item.atp,
        oversold=item.oversold,
        sequence=item.sequence,
        version=item.version,
        updated_at=at,
    )


def ledger_entry(item: StockMoveItem) -> LedgerEntry:
    """A ledger item as the model's entry (the owner's view reads them too)."""
    kind, _, cause_id = item.pk.removeprefix("STOCKMOVE#").partition("#")
    cause = Cause(_cause_kind(kind), cause_id)
    at = parse_time(item.at)
    return LedgerEntry(
        cause,
        item.action,
        at,
        tuple(
            StockMovement(
                sku, cause, at, item.action, **dict(zip(_DELTAS, (int(n) for n in numbers), strict=True))
            )
            for sku, *numbers in json.loads(item.moves)
        ),
        item.note,
    )


def _cause_kind(kind: str) -> CauseKind:
    if kind == "event":
        return "event"
    if kind == "order":
        return "order"
    return "reservation"


def _lines_json(lines: Iterable[ReservedLine]) -> str:
    return json.dumps([[line.sku, line.quantity] for line in lines], separators=(",", ":"))


def stock_of(item: StockLevelItem) -> StockItem:
    return StockItem(
        sku=item.pk.removeprefix("STOCK#"),
        on_hand=int(item.on_hand),
        reserved=int(item.reserved),
        committed=int(item.committed),
        safety=int(item.safety),
        atp=int(item.atp),
        oversold=int(item.oversold or 0),
        sequence=int(item.sequence) if item.sequence is not None else None,
        version=int(item.version or 0),
    )


def reservation_of(reservation_id: str, item: ReservationItem) -> Reservation | Refusal:
    if item.status == REFUSED:
        short = tuple(Shortage(sku, int(r), int(a)) for sku, r, a in json.loads(item.short or "[]"))
        return Refusal(reservation_id, item.checkout_token, short, parse_time(item.created_at))
    return Reservation(
        reservation_id=reservation_id,
        checkout_token=item.checkout_token,
        lines=tuple(ReservedLine(sku, int(q)) for sku, q in json.loads(item.lines)),
        status=ReservationStatus(item.status),
        created_at=parse_time(item.created_at),
        expires_at=parse_time(item.hold_until or item.created_at),
        ended_at=parse_time(item.ended_at) if item.ended_at else None,
    )


@dataclass
class InMemoryStockRepository:
    stock: dict[str, StockItem] = field(default_factory=dict)
    reservations: dict[str, Reservation | Refusal] = field(default_factory=dict)
    timers: dict[str, TimerRequest] = field(default_factory=dict)
    ledger: dict[tuple[CauseKind, str, str], LedgerEntry] = field(default_factory=dict)
    holds: dict[str, CheckoutHold] = field(default_factory=dict)  # by checkout token
    outbox: InMemoryOutbox = field(default_factory=InMemoryOutbox)  # events published
    commits: list[int] = field(default_factory=list)  # writes of each committed unit of work
    reads: int = 0  # reads made (reservation look-ups and batch reads of SKUs)
    # Called before each commit's checks: a test makes another transaction "hold an item".
    conflicts: list[bool] = field(default_factory=list)

    def unit_of_work(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(log=self.commits)

    def stage_hold(self, reservation: Reservation, timer: TimerRequest, work: UnitOfWork) -> None:
        unit = in_memory(work)
        rid = reservation.reservation_id

        def check_new() -> None:
            if self.conflicts and self.conflicts.pop(0):
                raise VersionConflict()
            if rid in self.reservations:
                raise DuplicateDelivery()

        unit.stage(("RESERVATION", rid), lambda: self.reservations.__setitem__(rid, reservation), check_new)
        for movement in reservation.movements("reserve", reservation.created_at):
            line_sku, quantity = movement.sku, movement.reserved

            def check(sku: str = line_sku, quantity: int = quantity) -> None:
                item = self.stock.get(sku)
                if item is None or item.atp is None or item.atp < quantity:
                    raise InsufficientStock()

            def apply(move: StockMovement = movement) -> None:
                self.stock[move.sku] = move.applied_to(self.stock[move.sku])

            unit.stage(("STOCK", line_sku), apply, check)
        hold = CheckoutHold(reservation.checkout_token, rid, reservation.lines)
        unit.stage(
            ("CHECKOUT", hold.checkout_token), lambda: self.holds.__setitem__(hold.checkout_token, hold)
        )
        InMemoryTimers(self.timers).arm(timer, now=reservation.created_at, work=work)

    def stage_end(self, ended: Reservation, work: UnitOfWork, *, cancel_timer: str | None) -> None:
        unit = in_memory(work)
        rid = ended.reservation_id
        assert ended.ended_at is not None

        def check_held() -> None:
            if self.conflicts and self.conflicts.pop(0):
                raise VersionConflict()
            current = self.reservations.get(rid)
            if not isinstance(current, Reservation) or current.status is not ReservationStatus.HELD:
                raise NotHeld()

        def end() -> None:
            current = self.reservations[rid]
            assert isinstance(current, Reservation) and ended.ended_at is not None
            self.reservations[rid] = current.ended(ended.status, ended.ended_at)

        unit.stage(("RESERVATION", rid), end, check_held)
        action = "release" if ended.status is ReservationStatus.RELEASED else "expire"
        for movement in ended.movements(action, ended.ended_at):

            def apply(move: StockMovement = movement) -> None:
                self.stock[move.sku] = move.applied_to(self.stock[move.sku])

            unit.stage(("STOCK", movement.sku), apply)
        if cancel_timer is not None:
            InMemoryTimers(self.timers).cancel(cancel_timer, work=work)

    def record_refusal(self, refusal: Refusal) -> None:
        if refusal.reservation_id in self.reservations:
            raise DuplicateDelivery()
        self.reservations[refusal.reservation_id] = refusal

    def reservation(self, reservation_id: str) -> Reservation | Refusal | None:
        self.reads += 1
        return self.reservations.get(reservation_id)

    def items(self, skus: Iterable[str]) -> Mapping[str, StockItem]:
        self.reads += 1
        return {sku: self.stock[sku] for sku in skus if sku in self.stock}

    def stage_item(self, item: StockItem, now: datetime, work: UnitOfWork) -> None:
        in_memory(work).stage(("STOCK", item.sku), lambda: self.stock.__setitem__(item.sku, item))

    def stage_move(
        self, movement: StockMovement, guard: Guard, work: UnitOfWork, *, sequence: int | None = None
    ) -> None:
        sku = movement.sku

        def check() -> None:
            item = self.stock.get(sku)
            if not guard.exists:
                if item is not None:
                    raise guard.fails()
                return
            read = guard.as_read
            if (
                item is None
                or item.atp is None
                or (guard.atp_at_least is not None and item.atp < guard.atp_at_least)
                or (guard.atp_is is not None and item.atp != guard.atp_is)
                or (guard.committed_at_least is not None and item.committed < guard.committed_at_least)
                or (guard.on_hand_at_least is not None and item.on_hand < guard.on_hand_at_least)
                or (
                    read is not None
                    and (item.on_hand, item.safety, item.sequence)
                    != (read.on_hand, read.safety, read.sequence)
                )
            ):
                raise guard.fails()

        def apply() -> None:
            current = self.stock.get(sku, StockItem(sku, 0, atp=0))
            moved = movement.applied_to(current)
            self.stock[sku] = replace(moved, sequence=sequence if sequence is not None else current.sequence)

        in_memory(work).stage(("STOCK", sku), apply, check)

    def stage_entry(
        self, entry: LedgerEntry, work: UnitOfWork, *, once: Callable[[], Exception] | None
    ) -> None:
        key = (entry.cause.kind, entry.cause.id, entry.action)

        def check() -> None:
            if once is not None and key in self.ledger:
                raise once()

        in_memory(work).stage(("STOCKMOVE", key), lambda: self.ledger.__setitem__(key, entry), check)

    def stage_commit(
        self,
        reservation_id: str,
        lines: tuple[ReservedLine, ...] | None,
        at: datetime,
        work: UnitOfWork,
        *,
        fails: Callable[[], Exception],
    ) -> None:
        def check() -> None:
            current = self.reservations.get(reservation_id)
            if (
                not isinstance(current, Reservation)
                or current.status is not ReservationStatus.HELD
                or (lines is not None and current.lines != lines)
            ):
                raise fails()

        def commit() -> None:
            current = self.reservations[reservation_id]
            assert isinstance(current, Reservation)
            self.reservations[reservation_id] = current.ended(ReservationStatus.COMMITTED, at)

        in_memory(work).stage(("RESERVATION", reservation_id), commit, check)
        InMemoryTimers(self.timers).cancel(expiry_timer_id(reservation_id), work=work)

    def stage_event(
        self, message: OutboxMessage, owed: Sequence[str], now: datetime, work: UnitOfWork
    ) -> None:
        self.outbox.stage_outbox_message(message, owed, now, work)

    def ledger_entry(self, cause: Cause, action: str) -> LedgerEntry | None:
        self.reads += 1
        return self.ledger.get((cause.kind, cause.id, action))

    def checkout_holds(self, checkout_tokens: Iterable[str]) -> tuple[CheckoutHold, ...]:
        self.reads += 1
        return tuple(self.holds[t] for t in dict.fromkeys(checkout_tokens) if t in self.holds)
