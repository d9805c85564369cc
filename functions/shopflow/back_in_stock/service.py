"""Recording subscriptions and running a restock's batches: read, decide (pure rules), write once.

`subscribe` / `unsubscribe` are the intake of `back_in_stock.subscribed|unsubscribed`; `run_batch`
is what the `back_in_stock_batch` timer does: read the SKU's atp again, hand the next waiting
subscriptions' alerts to notify (oldest first, at most `per_unit` per unit), take them out of
the queue, and arm the next batch or end the run.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from shopflow.back_in_stock.model import (
    BATCH_TIMER,
    KIND,
    RestockRules,
    Subscription,
    SubscriptionStatus,
    batch_size,
    bought_since,
    restocked,
)
from shopflow.back_in_stock.ports import (
    BackInStockStore,
    NotWaiting,
    ReceivedSubscription,
    ReceivedUnsubscription,
)
from shopflow.kernel.capability import Intake
from shopflow.kernel.queue_messages import HeldMessage
from shopflow.kernel.timeline import TimelineEntry
from shopflow.kernel.timers import TimerRequest
from shopflow.orders.model import PastOrder
from shopflow.orders.purchases import buyer_keys

AtpOf = Callable[[str], int | None]  # a SKU's atp now (None: never counted)
PurchasesSince = Callable[[Sequence[str], datetime], list[PastOrder]]  # the buyer index


def _line(subscription: Subscription, now: datetime, event: str, detail: str, source: str) -> TimelineEntry:
    return TimelineEntry(
        at=now, recorded_at=now, event=event, status=subscription.status.value, source=source, detail=detail
    )


def subscribe(received: ReceivedSubscription, store: BackInStockStore, *, now: datetime) -> Intake:
    """One subscription per contact and SKU: a repeat keeps the first one's place; one that was
    unsubscribed subscribes again at the end of the queue; one alerted already stays alerted."""
    asked = received.subscription.model_copy(update={"subscribed_at": now, "events": (received.event_id,)})
    ids = {"sku": asked.sku, "subscription_id": asked.subject_id}
    for _ in range(3):  # a concurrent delivery of the same subscription: read it again
        current = store.subscription(asked.contact, asked.sku)
        if current is not None and received.event_id in current.events:
            return Intake("duplicate", ids)
        try:
            if current is None:
                store.subscribe(asked, _line(asked, now, "subscribed", "waiting for the SKU", received.via))
                return Intake("accepted", ids, details={"subscription": asked.status.value})
            if current.status is SubscriptionStatus.UNSUBSCRIBED:
                store.reopen(
                    asked, current.status, _line(asked, now, "subscribed", "subscribed again", received.via)
                )
                return Intake("accepted", ids, details={"subscription": asked.status.value})
            store.add_event(current, received.event_id)
        except NotWaiting:
            continue
        since = f"since {current.subscribed_at:%Y-%m-%d %H:%M} UTC"
        why = (
            f"already waiting {since}: keeps its place"
            if current.status is SubscriptionStatus.WAITING
            else (f"already {current.status.value} ({since})")
        )
        return Intake("ignored", ids, why, {"subscription": current.status.value})
    return Intake("ignored", ids, "the subscription kept changing; send it again")


def unsubscribe(received: ReceivedUnsubscription, store: BackInStockStore, *, now: datetime) -> Intake:
    current = store.subscription(received.contact, received.sku)
    ids = {"sku": received.sku}
    if current is None:
        return Intake("ignored", ids, "no such subscription")
    ids["subscription_id"] = current.subject_id
    if current.status is not SubscriptionStatus.WAITING:
        return Intake("ignored", ids, f"subscription is {current.status.value}")
    left = current.model_copy(update={"status": SubscriptionStatus.UNSUBSCRIBED})
    try:
        store.leave(current, left.status, _line(left, now, "unsubscribed", "left the queue", received.via))
    except NotWaiting:
        return Intake("ignored", ids, "subscription is no longer waiting")
    return Intake("accepted", ids, details={"subscription": left.status.value})


def batch_timer(sku: str, due_at: datetime) -> TimerRequest:
    """The SKU's next batch: one timer per SKU, re-armed for each batch of its run."""
    return TimerRequest(
        timer_id=f"bis#{sku}",
        action=BATCH_TIMER,
        due_at=due_at,
        # Each arming is its own batch: a timer delivered twice carries the same id.
        payload=json.dumps({"sku": sku, "batch_id": uuid.uuid4().hex}),
    )


def on_stock_change(
    sku: str,
    old_atp: int | None,
    new_atp: int,
    store: BackInStockStore,
    rules: RestockRules,
    *,
    now: datetime,
) -> bool:
    """A SKU's atp changed: if that is a restock, its run of batches starts (its first batch due
    now), unless nobody waits or a run is in progress. True when a run started."""
    if not restocked(old_atp, new_atp, rules.min_atp):
        return False
    # A run whose batch is long overdue (its timer lost to the DLQ) does not block a new one.
    stale = now - timedelta(minutes=rules.batch_minutes) - timedelta(hours=1)
    return store.start_run(sku, batch_timer(sku, now), now, stale)


@dataclass(frozen=True)
class BatchResult:
    atp: int
    alerted: tuple[str, ...]  # subject ids handed to notify, in queue order
    skipped: tuple[str, ...]
    next_batch_at: datetime | None


def run_batch(
    sku: str,
    store: BackInStockStore,
    *,
    atp_of: AtpOf,
    purchases_since: PurchasesSince | None,
    to_notify: Callable[[HeldMessage], None],
    rules: RestockRules,
    channels_on: tuple[bool, bool],  # (email, sms) alerts enabled
    now: datetime,
    batch_id: str | None = None,  # the batch's timer's arming: it runs once for it
) -> BatchResult:
    """One batch of a restock's run. Each alert is handed to notify BEFORE its subscription
    leaves the queue: a crash between the two hands it again on the timer's retry, and notify's
    send-once record sends it once; a subscription never leaves the queue unannounced."""
    if batch_id is not None and not store.take_batch(sku, batch_id):
        return BatchResult(0, (), (), None)  # its timer fired twice: the batch ran already
    atp = atp_of(sku) or 0
    slots = batch_size(atp, rules.per_unit)
    alerted: list[str] = []
    skipped: list[str] = []
    seen: set[str] = set()
    cause = f"bis#{sku}#{now:%Y%m%dT%H%M%S}"
    while len(alerted) < slots:
        head = [s for s in store.waiting(sku, slots - len(alerted)) if s.subject_id not in seen]
        if not head:
            break
        for subscription in head:
            seen.add(subscription.subject_id)
            why = _why_not(subscription, purchases_since, channels_on)
            status = SubscriptionStatus.SKIPPED if why else SubscriptionStatus.ALERTED
            if why is None:
                channel = subscription.channel(*channels_on)
                assert channel is not None  # _why_not said it has one
                to_notify(
                    HeldMessage(subject_id=subscription.subject_id, kind=KIND, channel=channel, cause=cause)
                )
            left = subscription.model_copy(update={"status": status})
            detail = (
                f"skipped: {why}"
                if why
                else f"restock of {sku} (atp {atp}): alert {len(alerted) + 1} of {slots} handed to notify"
            )
            try:
                store.leave(
                    subscription, status, _line(left, now, f"alert_{status.value}", detail, "back_in_stock")
                )
            except NotWaiting:
                continue  # unsubscribed meanwhile (notify's check skips its alert) or done already
            (skipped if why else alerted).append(subscription.subject_id)
    more = bool(store.waiting(sku, 1)) if slots else False
    timer = batch_timer(sku, now + timedelta(minutes=rules.batch_minutes)) if more else None
    store.continue_run(sku, timer, now)
    return BatchResult(atp, tuple(alerted), tuple(skipped), timer.due_at if timer else None)


def _why_not(
    subscription: Subscription, purchases_since: PurchasesSince | None, channels_on: tuple[bool, bool]
) -> str | None:
    if subscription.channel(*channels_on) is None:
        return "no channel for it: notify.back_in_stock.email / .sms are off for its contact"
    if purchases_since is None:
        return None
    keys = buyer_keys(subscription.source, subscription.customer)
    return bought_since(subscription, purchases_since(keys, subscription.since)) if keys else None
