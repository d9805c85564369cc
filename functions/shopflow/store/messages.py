"""Send-once records of messages: claimed with a lease, settled with the timeline entry saying why.

SES and SNS take no idempotency key, so this record is what keeps a message from going twice:
a worker claims it (PENDING -> SENDING, with a lease) before calling the provider, and settles
it (SENT | FAILED | SKIPPED) together with the order's timeline entry. Two writes per message sent.
A write of more than one item (a settle, skip or deferral with its timeline line and timer, a
claim with the customer's marketing slot) is a unit of work: one TransactWriteItems.
`InMemoryMessageStore` is its twin for unit tests.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from shopflow.kernel.timeline import TimelineEntry
from shopflow.kernel.timers import TimerRequest
from shopflow.store.models import MarketingLedgerItem, MessageItem, TimelineItem
from shopflow.store.orders import DynamoOrderStore, iso, message_sort_key, subject_pk
from shopflow.store.timers import DynamoTimers
from shopflow.store.unit_of_work import DynamoUnitOfWork

FINAL = frozenset({"SENT", "FAILED", "SKIPPED"})


@dataclass(frozen=True)
class MessageRecord:
    subject_id: str  # what the message is about: an order id, or a cart's `cart|{cart_id}`
    kind: str
    channel: str
    status: str  # PENDING | SENDING | SENT | FAILED | SKIPPED
    attempts: int = 0
    lease_until: datetime | None = None
    provider_message_id: str | None = None
    reason: str | None = None
    uncertain: str | None = None
    cause: str | None = None
    deferred_until: datetime | None = None

    @property
    def final(self) -> bool:
        return self.status in FINAL

    def leased_at(self, now: datetime) -> bool:
        return self.status == "SENDING" and self.lease_until is not None and self.lease_until > now


class LeaseHeld(Exception):
    """Another worker holds the message (or settled it): this one must not send."""


class CapReached(Exception):
    """The customer got another marketing message within the cap's window."""


@dataclass(frozen=True)
class FrequencyCap:
    customer: str  # a stable key of the customer (see `customer_key`)
    window: timedelta


def customer_key(order_id_source: str, external_id: str | None, email: str | None, phone: str | None) -> str:
    """The customer across orders: the platform's customer id, else email, else phone."""
    if external_id:
        return f"id:{order_id_source}:{external_id}"
    if email:
        return f"email:{email.strip().lower()}"
    return f"phone:{(phone or '').strip()}"


def _ledger_pk(customer: str) -> str:
    return "CUSTOMER#" + hashlib.sha256(customer.encode()).hexdigest()


class MessageStore(Protocol):
    def records(self, subject_id: str, kind: str) -> dict[str, MessageRecord]: ...

    def claim(
        self,
        subject_id: str,
        kind: str,
        channel: str,
        *,
        cause: str,
        now: datetime,
        lease: timedelta,
        cap: FrequencyCap | None = None,
    ) -> MessageRecord:
        """PENDING (or SENDING with an expired lease) -> SENDING; `LeaseHeld` otherwise.
        With a `cap`, atomically also takes the customer's marketing slot, or raises `CapReached`."""
        ...

    def settle(
        self,
        claimed: MessageRecord,
        *,
        status: str,
        now: datetime,
        entry: TimelineEntry,
        provider_message_id: str | None = None,
        reason: str | None = None,
    ) -> None:
        """SENDING (still ours) -> SENT | FAILED, with the timeline entry, in one transaction."""
        ...

    def skip(
        self,
        subject_id: str,
        kind: str,
        channel: str,
        *,
        cause: str,
        now: datetime,
        reason: str,
        entry: TimelineEntry,
        status: str = "SKIPPED",
    ) -> None:
        """PENDING -> SKIPPED (or FAILED: parked) with the reason and the timeline entry, never
        having been sent; `LeaseHeld` if it moved on."""
        ...

    def defer(
        self,
        subject_id: str,
        kind: str,
        channel: str,
        *,
        cause: str,
        now: datetime,
        until: datetime,
        reason: str,
        entry: TimelineEntry,
        timer: TimerRequest,
    ) -> None:
        """PENDING stays PENDING until `until`, with the timer that sends it then and the timeline
        entry, in one transaction; `LeaseHeld` if it moved on."""
        ...

    def release(self, claimed: MessageRecord, *, now: datetime, reason: str, uncertain: bool) -> None:
        """Give the message back for a later attempt. `uncertain`: the provider may have taken it,
        so the record stays SENDING until its lease ends (a retry then says so); otherwise PENDING."""
        ...


def _record(item: MessageItem, subject_id: str) -> MessageRecord:
    return MessageRecord(
        subject_id=subject_id,
        kind=item.kind,
        channel=item.channel,
        status=item.status,
        attempts=int(item.attempts or 0),
        lease_until=_parse_time(item.lease_until) if item.lease_until else None,
        provider_message_id=item.provider_message_id,
        reason=item.reason,
        uncertain=item.uncertain,
        cause=item.cause,
        deferred_until=_parse_time(item.deferred_until) if item.deferred_until else None,
    )


def _parse_time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _timeline_item(subject_id: str, kind: str, channel: str, entry: TimelineEntry) -> TimelineItem:
    return TimelineItem(
        subject_pk(subject_id),
        f"TIMELINE#{iso(entry.recorded_at)}#{kind}-{channel}",
        item_type="TIMELINE",
        document=entry.model_dump_json(),
    )


def _created(kind: str, channel: str, cause: str, stamp: str) -> list[Action]:
    """What a write sets on a record it may be the first to write (a lazily made record, or one
    from before records were created at intake); `if_not_exists` keeps what is there."""
    return [
        MessageItem.item_type.set("MESSAGE"),
        MessageItem.kind.set(kind),
        MessageItem.channel.set(channel),
        MessageItem.cause.set(MessageItem.cause | cause),
        MessageItem.created_at.set(MessageItem.created_at | stamp),
    ]


# Skipping, parking or deferring is only for a message nobody has started to send.
_NEVER_SENT = MessageItem.pk.does_not_exist() | (MessageItem.status == "PENDING")


def _conditional_failure(exc: Exception) -> bool:
    cause = getattr(exc, "cause_response_code", None)
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return cause == "ConditionalCheckFailedException" or (
        cause == "TransactionCanceledException"
        and any(getattr(r, "code", None) == "ConditionalCheckFailed" for r in reasons)
    )


class DynamoMessageStore:
    def __init__(self, orders: DynamoOrderStore) -> None:
        self._orders = orders  # shares its connection for transactions
        self._timers = DynamoTimers()

    def records(self, subject_id: str, kind: str) -> dict[str, MessageRecord]:
        items = MessageItem.query(
            subject_pk(subject_id), MessageItem.sk.startswith(f"MESSAGE#{kind}#"), consistent_read=True
        )
        return {item.channel: _record(item, subject_id) for item in items}

    def claim(
        self,
        subject_id: str,
        kind: str,
        channel: str,
        *,
        cause: str,
        now: datetime,
        lease: timedelta,
        cap: FrequencyCap | None = None,
    ) -> MessageRecord:
        item = MessageItem(subject_pk(subject_id), message_sort_key(kind, channel))
        stamp = iso(now)
        actions: list[Action] = [
            *_created(kind, channel, cause, stamp),
            MessageItem.status.set("SENDING"),
            MessageItem.lease_until.set(iso(now + lease)),
            MessageItem.attempts.add(1),
            MessageItem.updated_at.set(stamp),
        ]
        condition = (
            MessageItem.pk.does_not_exist()
            | (MessageItem.status == "PENDING")
            | ((MessageItem.status == "SENDING") & (MessageItem.lease_until < stamp))
        )
        if cap is None:
            try:
                item.update(actions=actions, condition=condition)
            except UpdateError as exc:
                if _conditional_failure(exc):
                    raise LeaseHeld() from exc
                raise
            return _record(item, subject_id)
        # The claim and the customer's marketing slot, together or not at all.
        message = f"{subject_id}#{kind}#{channel}"
        work = DynamoUnitOfWork(self._orders.connection)
        work.update(item, actions, condition=condition, if_condition_fails=LeaseHeld)
        work.update(
            MarketingLedgerItem(_ledger_pk(cap.customer), "MARKETING"),
            [
                MarketingLedgerItem.item_type.set("MARKETING"),
                MarketingLedgerItem.last_at.set(stamp),
                MarketingLedgerItem.last_message.set(message),
            ],
            condition=(
                MarketingLedgerItem.pk.does_not_exist()
                | (MarketingLedgerItem.last_at <= iso(now - cap.window))
                | (MarketingLedgerItem.last_message == message)
            ),
            if_condition_fails=CapReached,  # only when the claim itself could be made
        )
        work.commit()
        claimed = self.records(subject_id, kind).get(channel)
        assert claimed is not None  # written just now
        return claimed

    def settle(
        self,
        claimed: MessageRecord,
        *,
        status: str,
        now: datetime,
        entry: TimelineEntry,
        provider_message_id: str | None = None,
        reason: str | None = None,
    ) -> None:
        actions: list[Action] = [
            MessageItem.status.set(status),
            MessageItem.updated_at.set(iso(now)),
            MessageItem.lease_until.remove(),
        ]
        if provider_message_id is not None:
            actions.append(MessageItem.provider_message_id.set(provider_message_id))
        if reason is not None:
            actions.append(MessageItem.reason.set(reason))
        self._write(
            claimed.subject_id,
            claimed.kind,
            claimed.channel,
            actions,
            (MessageItem.status == "SENDING") & (MessageItem.attempts == claimed.attempts),
            entry,
        )

    def skip(
        self,
        subject_id: str,
        kind: str,
        channel: str,
        *,
        cause: str,
        now: datetime,
        reason: str,
        entry: TimelineEntry,
        status: str = "SKIPPED",
    ) -> None:
        stamp = iso(now)
        self._write(
            subject_id,
            kind,
            channel,
            [
                *_created(kind, channel, cause, stamp),
                MessageItem.attempts.set(MessageItem.attempts | 0),
                MessageItem.status.set(status),
                MessageItem.reason.set(reason),
                MessageItem.updated_at.set(stamp),
            ],
            _NEVER_SENT,
            entry,
        )

    def defer(
        self,
        subject_id: str,
        kind: str,
        channel: str,
        *,
        cause: str,
        now: datetime,
        until: datetime,
        reason: str,
        entry: TimelineEntry,
        timer: TimerRequest,
    ) -> None:
        stamp = iso(now)
        self._write(
            subject_id,
            kind,
            channel,
            [
                *_created(kind, channel, cause, stamp),
                MessageItem.attempts.set(MessageItem.attempts | 0),
                MessageItem.status.set("PENDING"),
                MessageItem.reason.set(reason),
                MessageItem.deferred_until.set(iso(until)),
                MessageItem.updated_at.set(stamp),
            ],
            _NEVER_SENT,
            entry,
            timer,
            now,
        )

    def release(self, claimed: MessageRecord, *, now: datetime, reason: str, uncertain: bool) -> None:
        actions: list[Action] = [MessageItem.reason.set(reason), MessageItem.updated_at.set(iso(now))]
        if uncertain:
            actions.append(MessageItem.uncertain.set(reason))
        else:
            actions += [MessageItem.status.set("PENDING"), MessageItem.lease_until.remove()]
        item = MessageItem(subject_pk(claimed.subject_id), message_sort_key(claimed.kind, claimed.channel))
        try:
            item.update(
                actions=actions,
                condition=(MessageItem.status == "SENDING") & (MessageItem.attempts == claimed.attempts),
            )
        except UpdateError as exc:
            if _conditional_failure(exc):
                raise LeaseHeld() from exc
            raise

    def _write(
        self,
        subject_id: str,
        kind: str,
        channel: str,
        actions: list[Action],
        condition: Condition,
        entry: TimelineEntry,
        timer: TimerRequest | None = None,
        now: datetime | None = None,
    ) -> None:
        work = DynamoUnitOfWork(self._orders.connection)
        work.update(
            MessageItem(subject_pk(subject_id), message_sort_key(kind, channel)),
            actions,
            condition=condition,
            if_condition_fails=LeaseHeld,
        )
        work.put(_timeline_item(subject_id, kind, channel, entry))
        if timer is not None and now is not None:
            self._timers.arm(timer, now=now, work=work)
        work.commit()


@dataclass
class InMemoryMessageStore:
    """The same contract in a dict; `writes` counts what DynamoDB would be asked to write."""

    records_by_key: dict[tuple[str, str, str], MessageRecord] = field(default_factory=dict)
    timelines: dict[str, list[TimelineEntry]] = field(default_factory=dict)
    timers: dict[str, TimerRequest] = field(default_factory=dict)
    ledger: dict[str, tuple[datetime, str]] = field(default_factory=dict)
    writes: int = 0

    def add_pending(self, subject_id: str, kind: str, channel: str, cause: str) -> None:
        pending = MessageRecord(subject_id, kind, channel, "PENDING", cause=cause)
        self.records_by_key[(subject_id, kind, channel)] = pending

    def records(self, subject_id: str, kind: str) -> dict[str, MessageRecord]:
        return {c: r for (o, k, c), r in self.records_by_key.items() if o == subject_id and k == kind}

    def claim(
        self,
        subject_id: str,
        kind: str,
        channel: str,
        *,
        cause: str,
        now: datetime,
        lease: timedelta,
        cap: FrequencyCap | None = None,
    ) -> MessageRecord:
        self.writes += 1
        current = self.records_by_key.get((subject_id, kind, channel))
        if current is not None and not (
            current.status == "PENDING" or (current.status == "SENDING" and not current.leased_at(now))
        ):
            raise LeaseHeld()
        if cap is not None:
            message = f"{subject_id}#{kind}#{channel}"
            last = self.ledger.get(cap.customer)
            if last is not None and last[0] > now - cap.window and last[1] != message:
                raise CapReached()
            self.ledger[cap.customer] = (now, message)
        base = current or MessageRecord(subject_id, kind, channel, "PENDING", cause=cause)
        claimed = replace(base, status="SENDING", attempts=base.attempts + 1, lease_until=now + lease)
        self.records_by_key[(subject_id, kind, channel)] = claimed
        return claimed

    def settle(
        self,
        claimed: MessageRecord,
        *,
        status: str,
        now: datetime,
        entry: TimelineEntry,
        provider_message_id: str | None = None,
        reason: str | None = None,
    ) -> None:
        self.writes += 1
        key = (claimed.subject_id, claimed.kind, claimed.channel)
        current = self.records_by_key.get(key)
        if current is None or current.status != "SENDING" or current.attempts != claimed.attempts:
            raise LeaseHeld()
        self.records_by_key[key] = replace(
            current,
            status=status,
            lease_until=None,
            provider_message_id=provider_message_id or current.provider_message_id,
            reason=reason if reason is not None else current.reason,
        )
        self.timelines.setdefault(claimed.subject_id, []).append(entry)

    def skip(
        self,
        subject_id: str,
        kind: str,
        channel: str,
        *,
        cause: str,
        now: datetime,
        reason: str,
        entry: TimelineEntry,
        status: str = "SKIPPED",
    ) -> None:
        self.writes += 1
        key = (subject_id, kind, channel)
        base = self._never_sent(key, cause)
        self.records_by_key[key] = replace(base, status=status, reason=reason)
        self.timelines.setdefault(subject_id, []).append(entry)

    def defer(
        self,
        subject_id: str,
        kind: str,
        channel: str,
        *,
        cause: str,
        now: datetime,
        until: datetime,
        reason: str,
        entry: TimelineEntry,
        timer: TimerRequest,
    ) -> None:
        self.writes += 1
        key = (subject_id, kind, channel)
        base = self._never_sent(key, cause)
        self.records_by_key[key] = replace(base, reason=reason, deferred_until=until)
        self.timelines.setdefault(subject_id, []).append(entry)
        self.timers[timer.timer_id] = timer

    def _never_sent(self, key: tuple[str, str, str], cause: str) -> MessageRecord:
        current = self.records_by_key.get(key)
        if current is not None and current.status != "PENDING":
            raise LeaseHeld()
        return current or MessageRecord(*key, "PENDING", cause=cause)

    def release(self, claimed: MessageRecord, *, now: datetime, reason: str, uncertain: bool) -> None:
        self.writes += 1
        key = (claimed.subject_id, claimed.kind, claimed.channel)
        current = self.records_by_key.get(key)
        if current is None or current.status != "SENDING" or current.attempts != claimed.attempts:
            raise LeaseHeld()
        if uncertain:
            self.records_by_key[key] = replace(current, reason=reason, uncertain=reason)
        else:
            self.records_by_key[key] = replace(current, status="PENDING", lease_until=None, reason=reason)
