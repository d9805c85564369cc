"""notify: OrderPlaced / OrderStatusChanged from the notify queue -> the messages they cause.

For each message the event causes (kind x channel) the consumer decides (settings, contact,
consent), renders, claims the send-once record, makes one provider call and settles the
record with a timeline entry saying what happened and why. A message that must be tried again
(throttled, provider down, outcome unknown, another worker holding it) fails only its own SQS
record, so the rest of the batch completes; SQS brings it back and after 5 receives moves it to
the DLQ. A template that does not render is parked (FAILED with the reason): retrying cannot help.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from shopflow.carts.model import CART_SUBJECT_PREFIX, Cart
from shopflow.carts.reminders import (
    CART_REMINDER,
    KIND_OF_STEP,
    STEP_OF_KIND,
    NotYet,
    Step,
    check_step,
)
from shopflow.carts.reminders import timer_id as reminder_timer_id
from shopflow.clock import Clock
from shopflow.kernel.conflicts import VersionConflict
from shopflow.kernel.queue_messages import (
    CartStepDue,
    EventMessage,
    HeldMessage,
    MessageRouter,
    ReplenishmentDue,
)
from shopflow.kernel.skip import Skip
from shopflow.kernel.timeline import TimelineEntry
from shopflow.kernel.timers import TimerRequest
from shopflow.messaging.delivery import Accepted, Email, Rejected, SendOutcome, SesSender, SnsSender
from shopflow.messaging.unsubscribe import make_token
from shopflow.notifications.decide import Defer, Send, decide, product_links, shop_links
from shopflow.notifications.kinds import CHANNELS, TRANSACTIONAL, Channel, kinds_for
from shopflow.notifications.policy import NotifyPolicy, policy_from
from shopflow.observability import logger, mask
from shopflow.orders.model import DiscountCode, Order, OrderStatus, PastOrder, new_code, ordered_recently
from shopflow.replenishment.rules import REPLENISHMENT, check_reminder, consumables_of
from shopflow.orders.purchases import BuyerIndex, buyer_keys
from shopflow.store.catalog import Catalog
from shopflow.store.consent import ConsentStore
from shopflow.store.messages import (
    CapReached,
    FrequencyCap,
    LeaseHeld,
    MessageRecord,
    MessageStore,
    customer_key,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from shopflow.carts.ports import StoredCart
    from shopflow.config.settings import Settings
    from shopflow.messaging.render import Renderer
    from shopflow.orders.ports import StoredOrder

# Shorter than the notify queue's visibility timeout (180 s): when SQS brings a message back,
# the lease of the attempt that gave up on it has ended.
LEASE = timedelta(seconds=120)
# Throttling and 5xx mean the provider did not take the message: safe to try again at once.
REJECTED_ATTEMPTS = 3
SEND_DEFERRED = "send_message"  # the timer action of a message deferred by quiet hours


Subject = Order | Cart  # what a message is about: its records and timeline are filed under it


class CartReader(Protocol):
    def get(self, cart_id: str) -> StoredCart | None: ...

    def save_offer(self, stored: StoredCart, offer: DiscountCode, now: datetime) -> StoredCart: ...


class RetryLater(Exception):
    """This SQS record must come back later (its other messages are settled already)."""


class BadNotifyMessage(ValueError):
    """The SQS body names nothing notify can act on: it goes to the DLQ after its receives."""


# The outbox events notify hears (dispatch's routes to the notify queue).
EVENT_TYPES = ("OrderPlaced", "OrderStatusChanged", "OrderDelayed")


@dataclass(frozen=True)
class NotifyEvent:
    cause: str  # outbox_id
    event_type: str
    order_id: str
    status: OrderStatus
    occurred_at: datetime | None = None

    @classmethod
    def of(cls, message: EventMessage) -> NotifyEvent:
        event = message.event
        try:
            return cls(
                cause=message.outbox_id,
                event_type=message.type,
                order_id=str(event["order_id"]),
                status=OrderStatus(event["status"]),
                occurred_at=datetime.fromisoformat(event["occurred_at"])
                if event.get("occurred_at")
                else None,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise BadNotifyMessage(f"{message.type} without its order: {type(exc).__name__}") from None


def legacy_body(body: str) -> str:
    """A body queued before typed bodies (decision 53): `{"deferred": payload}`, told apart by its
    payload's keys as notify did then. Kept until no such body can be queued (4 days' retention
    after the upgrade); every other body is returned as it is."""
    try:
        document = json.loads(body)
    except ValueError:
        return body
    if not (isinstance(document, dict) and isinstance(document.get("deferred"), dict)):
        return body
    payload: dict[str, Any] = document["deferred"]
    if "cart_id" in payload:
        return CartStepDue.model_validate(payload).model_dump_json()
    if payload.get("flow") == REPLENISHMENT:
        return ReplenishmentDue.model_validate(payload).model_dump_json()
    return HeldMessage.model_validate(payload).model_dump_json()


@dataclass
class NotifyConsumer:
    get_order: Callable[[str], StoredOrder | None]
    messages: MessageStore
    settings: Callable[[], Settings]
    renderer: Callable[[], Renderer]
    email: SesSender
    sms: SnsSender
    clock: Clock
    consent: ConsentStore
    api_url: str | None = None  # where unsubscribe links point (the API's base URL)
    carts: CartReader | None = None  # cart reminders need these two
    buyers: BuyerIndex | None = None
    catalog: Catalog | None = None  # replenishment reminders' tag rules read product tags
    sleep: Callable[[float], None] = field(default=time.sleep)
    router: MessageRouter = field(init=False)

    def __post_init__(self) -> None:
        self.router = MessageRouter()
        for event_type in EVENT_TYPES:
            self.router.register(
                event_type, EventMessage, lambda message: self.notify(NotifyEvent.of(message))
            )
        self.router.register(SEND_DEFERRED, HeldMessage, self.send_held)
        self.router.register(CART_REMINDER, CartStepDue, self.remind_cart)
        self.router.register(REPLENISHMENT, ReplenishmentDue, self.remind_replenishment)

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

        processor = BatchProcessor(event_type=EventType.SQS)
        return process_partial_response(  # type: ignore[return-value]  # a TypedDict of that dict
            event=event, record_handler=self._record, processor=processor, context=context
        )

    def _record(self, record: SQSRecord) -> None:
        self.router.route(legacy_body(record.body))

    def notify(self, event: NotifyEvent) -> None:
        kinds = kinds_for(event.event_type, event.status)
        if not kinds:
            return
        stored = self.get_order(event.order_id)
        if stored is None:
            raise RetryLater(f"order {event.order_id} not found")  # cannot happen: written with the event
        placed_at = stored.order.placed_at or event.occurred_at
        if event.event_type == "OrderPlaced" and self.buyers is not None and placed_at is not None:
            # The intake wrote the buyer index right after its commit; a crash in between would
            # let a reminder miss this order, so it is written again here (the same items).
            self.buyers.record(stored.order, placed_at)
        policy = policy_from(self.settings())
        again: list[str] = []
        for kind in kinds:
            records = self.messages.records(event.order_id, kind)
            again += self._deliver_channels(
                stored.order, kind, cause=event.cause, policy=policy, records=records
            )
        if again:
            raise RetryLater("; ".join(again))

    def _deliver_channels(
        self,
        subject: Subject,
        kind: str,
        *,
        cause: str,
        policy: NotifyPolicy,
        records: dict[str, MessageRecord],
    ) -> list[str]:
        """`deliver` on every channel; returns why those that must come back later wait.
        A settled record (a repeated delivery) makes deliver() do nothing."""
        again: list[str] = []
        for channel in CHANNELS:
            try:
                self.deliver(subject, kind, channel, cause=cause, policy=policy, record=records.get(channel))
            except RetryLater as exc:
                again.append(f"{channel} {kind}: {exc}")
        return again

    def deliver(
        self,
        subject: Subject,
        kind: str,
        channel: Channel,
        *,
        cause: str,
        policy: NotifyPolicy,
        record: MessageRecord | None = None,
    ) -> None:
        """Decide, render, claim, send once and settle one message; `RetryLater` if it must wait.

        Reminders call this for their marketing kinds too: consent and at-most-once apply there.
        """
        now = self.clock.now()
        if record is not None and record.final:
            return
        if record is not None and record.leased_at(now):
            raise RetryLater("being sent by another worker")
        if record is not None and record.deferred_until is not None and now < record.deferred_until:
            return  # waiting for its timer (quiet hours); a repeated event changes nothing
        decision = decide(subject, kind, channel, policy, now)
        if isinstance(decision, Skip):
            self._park(subject, kind, channel, cause, "SKIPPED", decision.reason, now)
            return
        if isinstance(decision, Defer):
            self._defer(subject, kind, channel, cause, decision, now)
            return
        if kind not in TRANSACTIONAL and self.consent.opted_out(channel, decision.address):
            self._park(
                subject, kind, channel, cause, "SKIPPED", f"unsubscribed from {channel} marketing", now
            )
            return
        try:
            send, summary = self._prepared(subject, kind, channel, decision, policy)
        except _Parked as parked:
            self._park(subject, kind, channel, cause, parked.status, parked.reason, now)
            return
        cap = None
        if kind not in TRANSACTIONAL:
            customer = subject.customer
            key = customer_key(subject.source, customer.external_id, customer.email, customer.phone)
            cap = FrequencyCap(key, policy.marketing_cap)
        try:
            claimed = self.messages.claim(
                subject.subject_id, kind, channel, cause=cause, now=now, lease=LEASE, cap=cap
            )
        except CapReached:
            hours = policy.marketing_cap // timedelta(hours=1)
            why = f"frequency cap: the customer had a marketing message in the last {hours} h"
            self._park(subject, kind, channel, cause, "SKIPPED", why, now)
            return
        except LeaseHeld:
            current = self.messages.records(subject.subject_id, kind).get(channel)
            if current is not None and current.final:
                return  # settled by another delivery meanwhile
            raise RetryLater("claimed by another worker") from None
        outcome = self._send_with_retries(send)
        self._settle(subject, kind, channel, claimed, outcome, summary, decision)

    def _prepared(
        self, subject: Subject, kind: str, channel: Channel, decision: Send, policy: NotifyPolicy
    ) -> tuple[Callable[[], SendOutcome], str]:
        """The provider call to make and how the timeline will describe the message."""
        from shopflow.messaging.render import Coupon, MessageContext, RenderError, Shop

        code = subject.delay_coupon if isinstance(subject, Order) else subject.offer
        unsubscribe_url = None
        if channel == "email" and kind not in TRANSACTIONAL:
            unsubscribe_url = self._unsubscribe_url(decision.address, policy)
        links: tuple[tuple[str, str], ...] = ()
        if kind == "review" and isinstance(subject, Order):
            if policy.review_url_template is None:
                raise _Parked("SKIPPED", "no review page configured (notify.review.url_template)")
            links = product_links(subject, policy.review_url_template)
            if not links:
                raise _Parked("SKIPPED", "no product of the order has a review page")
        if kind == REPLENISHMENT and isinstance(subject, Order):
            links = shop_links(subject, policy.product_url_template, policy.shop_url)
            if not links:
                raise _Parked("SKIPPED", "no product page or shop.url to link to")
        context = MessageContext(
            subject=subject,
            locale=decision.locale,
            timezone=decision.timezone,
            shop=Shop(name=policy.shop_name, url=policy.shop_url),
            coupon=Coupon(code.code, code.percent, code.valid_until) if code else None,
            product_links=links,
            unsubscribe_url=unsubscribe_url,
        )
        renderer = self.renderer()
        notes = "".join(f"; {note}" for note in decision.notes)
        try:
            if channel == "email":
                content = renderer.render_email(kind, context)
            else:
                sms = renderer.render_sms(kind, context)
        except RenderError as exc:
            raise _Parked("FAILED", f"template failed: {exc}") from None
        if channel == "email":
            assert policy.sender is not None  # decide() skips when it is missing
            headers = {}
            if unsubscribe_url is not None:  # RFC 8058 one-click
                headers = {
                    "List-Unsubscribe": f"<{unsubscribe_url}>",
                    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                }
            email = Email(
                to=decision.address,
                sender=policy.sender,
                sender_name=policy.shop_name or "",  # no name: From is the bare address
                subject=content.subject,
                html=content.html,
                text=content.text,
                language=decision.locale,
                reply_to=policy.reply_to,
                configuration_set=policy.configuration_set,
                headers=headers,
                sent_at=self.clock.now(),
            )
            return (lambda: self.email.send(email)), f"to {mask(decision.address)} ({decision.locale}{notes})"
        if sms.segments > policy.sms_max_segments:
            raise _Parked(
                "SKIPPED",
                f"{sms.segments} segments ({sms.encoding}), over the cap of {policy.sms_max_segments}",
            )
        transactional = kind in TRANSACTIONAL
        segments = f"{sms.segments} segment{'' if sms.segments == 1 else 's'} {sms.encoding}"
        return (
            lambda: self.sms.send(decision.address, sms.body, transactional=transactional)
        ), f"to {mask(decision.address)} ({decision.locale}, {segments}{notes})"

    def _unsubscribe_url(self, address: str, policy: NotifyPolicy) -> str:
        """The one-click unsubscribe link every marketing email carries (or it is not sent)."""
        if not (policy.unsubscribe_secret and self.api_url):
            raise _Parked("SKIPPED", "no unsubscribe link possible: notify.unsubscribe.secret is not set")
        token = make_token("email", address, secret=policy.unsubscribe_secret, now=self.clock.now())
        return f"{self.api_url.rstrip('/')}/unsubscribe/{token}"

    def _send_with_retries(self, send: Callable[[], SendOutcome]) -> SendOutcome:
        outcome = send()
        for attempt in range(1, REJECTED_ATTEMPTS):
            if not (isinstance(outcome, Rejected) and outcome.retryable):
                break
            self.sleep(random.uniform(0, 0.1 * 2**attempt))  # noqa: S311 - jitter, not secrecy
            outcome = send()
        return outcome

    def _settle(
        self,
        subject: Subject,
        kind: str,
        channel: Channel,
        claimed: MessageRecord,
        outcome: SendOutcome,
        summary: str,
        decision: Send,
    ) -> None:
        now = self.clock.now()
        what = f"{channel} {kind}"
        if isinstance(outcome, Accepted):
            earlier = (
                f"; attempt {claimed.attempts}: an earlier one got no answer and may have been delivered too"
                if claimed.uncertain
                else ""
            )
            self.messages.settle(
                claimed,
                status="SENT",
                now=now,
                provider_message_id=outcome.provider_message_id,
                reason=claimed.uncertain,
                entry=_entry(subject, now, "message_sent", f"{what} sent {summary}{earlier}"),
            )
            logger.info(
                "message sent",
                extra={
                    "order_id": subject.subject_id,
                    "kind": kind,
                    "channel": channel,
                    "attempts": claimed.attempts,
                    "provider_message_id": outcome.provider_message_id,
                },
            )
            return
        if isinstance(outcome, Rejected) and not outcome.retryable:
            self.messages.settle(
                claimed,
                status="FAILED",
                now=now,
                reason=outcome.reason,
                entry=_entry(subject, now, "message_failed", f"{what} failed: {outcome.reason}"),
            )
            logger.warning("message refused", extra=_ids(subject, kind, channel, outcome.reason))
            return
        if isinstance(outcome, Rejected):
            self.messages.release(claimed, now=now, reason=outcome.reason, uncertain=False)
            logger.warning("message not sent; will retry", extra=_ids(subject, kind, channel, outcome.reason))
            raise RetryLater(outcome.reason)
        # Unknown: the provider may have taken it.
        if kind in TRANSACTIONAL:
            # At least once: after the lease the message is sent again, and the record will say so.
            self.messages.release(claimed, now=now, reason=outcome.reason, uncertain=True)
            logger.warning("message outcome unknown", extra=_ids(subject, kind, channel, outcome.reason))
            raise RetryLater(outcome.reason)
        # Marketing: at most once.
        reason = f"outcome unknown ({outcome.reason}); not retried: marketing is sent at most once"
        self.messages.settle(
            claimed,
            status="FAILED",
            now=now,
            reason=reason,
            entry=_entry(subject, now, "message_failed", f"{what} {reason}"),
        )

    def send_held(self, message: HeldMessage) -> None:
        """A message whose time has come (quiet hours ended, a review request): its timer put it here."""
        subject_id, kind, channel = message.subject_id, message.kind, message.channel
        subject = self._subject(subject_id)
        if subject is None or channel not in CHANNELS:
            raise BadNotifyMessage(
                f"deferred message for {subject_id} {kind} {channel}: no such order, cart or channel"
            )
        record = self.messages.records(subject_id, kind).get(channel)
        policy, cause = policy_from(self.settings()), message.cause
        # A reminder about an order is checked again each time it is about to go (when its
        # timer fires, and when an SMS held by quiet hours may leave): the customer may have
        # ordered meanwhile.
        checked = self._reminder_about(subject, kind, policy)
        if checked is None:
            return  # the cart saw activity since: its re-armed timer sends the step
        if isinstance(checked, Skip):
            if not (record and record.final):
                self._park(subject, kind, channel, cause, "SKIPPED", checked.reason, self.clock.now())
            return
        self.deliver(checked, kind, channel, cause=cause, policy=policy, record=record)

    def _reminder_about(self, subject: Subject, kind: str, policy: NotifyPolicy) -> Subject | Skip | None:
        """The subject as a reminder of `kind` names it, why it does not go (e.g. no reminders
        for `notify.marketing.pause_after_order_days` after another order), or None when a cart's
        step is not due any more. Any other message: the subject as it is."""
        if isinstance(subject, Cart):
            step = STEP_OF_KIND.get(kind)
            if step is None:
                return subject
            verdict = self._check_cart(subject, step, policy, self.clock.now())
            return None if isinstance(verdict, NotYet) else verdict or subject
        order = subject
        if kind == REPLENISHMENT:
            return self._replenishment(order, policy)
        if kind == "review":
            now = self.clock.now()
            pause = policy.pause_after_order
            recent = self._orders_since(buyer_keys(order.source, order.customer), now - pause)
            why = ordered_recently(recent, now, pause, besides=order.order_id)
            return Skip(why) if why else order
        return order

    def _orders_since(self, keys: Sequence[str], since: datetime) -> list[PastOrder]:
        """What the buyer with these keys (customer id, email, phone, cart tokens) ordered since."""
        return self.buyers.orders_since(keys, since) if (keys and self.buyers) else []

    def _subject(self, subject_id: str) -> Subject | None:
        if subject_id.startswith(CART_SUBJECT_PREFIX):
            stored_cart = self._carts().get(subject_id.removeprefix(CART_SUBJECT_PREFIX))
            return stored_cart.cart if stored_cart else None
        stored = self.get_order(subject_id)
        return stored.order if stored else None

    def _carts(self) -> CartReader:
        if self.carts is None:
            raise BadNotifyMessage("this consumer was built without a cart store")
        return self.carts

    def remind_cart(self, message: CartStepDue) -> None:
        """A cart reminder step whose timer fired: check the cart again, then each channel's message."""
        cart_id, step = message.cart_id, message.step
        stored = self._carts().get(cart_id)
        if stored is None:
            raise BadNotifyMessage(f"cart reminder for {cart_id}: no such cart")
        cart = stored.cart
        policy = policy_from(self.settings())
        now = self.clock.now()
        verdict = self._check_cart(cart, step, policy, now)
        if isinstance(verdict, NotYet):
            logger.info(
                "cart reminder not due: the cart saw activity", extra={"cart_id": cart_id, "step": step}
            )
            return
        kind, cause = KIND_OF_STEP[step], reminder_timer_id(cart_id, step)
        records = self.messages.records(cart.subject_id, kind)
        waiting = _unsettled(records)
        if isinstance(verdict, Skip):
            for channel in waiting:
                self._park(cart, kind, channel, cause, "SKIPPED", verdict.reason, now)
            return
        if step == 2 and cart.offer is None and waiting:
            cart = self._with_offer(stored, policy, now)
        again = self._deliver_channels(cart, kind, cause=cause, policy=policy, records=records)
        if again:
            raise RetryLater("; ".join(again))

    def remind_replenishment(self, message: ReplenishmentDue) -> None:
        """A delivered order's consumables are about to run out: check again, then each channel."""
        order_id = message.order_id
        stored = self.get_order(order_id)
        if stored is None:
            raise BadNotifyMessage(f"replenishment reminder for {order_id}: no such order")
        policy = policy_from(self.settings())
        cause = f"replenish#{order_id}"
        records = self.messages.records(order_id, REPLENISHMENT)
        checked = self._replenishment(stored.order, policy)
        if isinstance(checked, Skip):
            now = self.clock.now()
            for channel in _unsettled(records):
                self._park(stored.order, REPLENISHMENT, channel, cause, "SKIPPED", checked.reason, now)
            return
        again = self._deliver_channels(checked, REPLENISHMENT, cause=cause, policy=policy, records=records)
        if again:
            raise RetryLater("; ".join(again))

    def _replenishment(self, order: Order, policy: NotifyPolicy) -> Order | Skip:
        """The order as the reminder names it (only the consumables not bought again), or why not."""
        now = self.clock.now()
        since = min(order.placed_at or now, now - policy.pause_after_order)
        checked = check_reminder(
            order,
            consumables_of(order, policy.replenishment, self.catalog.tags if self.catalog else None),
            purchases=self._orders_since(buyer_keys(order.source, order.customer), since),
            now=now,
            pause_after_order=policy.pause_after_order,
        )
        if isinstance(checked, Skip):
            return checked
        return order.model_copy(update={"lines": tuple(item.line for item in checked.items)})

    def _check_cart(
        self, cart: Cart, step: Step, policy: NotifyPolicy, now: datetime
    ) -> NotYet | Skip | None:
        since = min(cart.started_at, now - policy.pause_after_order)
        return check_step(
            cart,
            step,
            now=now,
            timing=policy.cart_timing,
            purchases=self._orders_since(buyer_keys(cart.source, cart.customer, cart.tokens), since),
            pause_after_order=policy.pause_after_order,
            offer_min_total=policy.offer_min_total,
        )

    def _with_offer(self, stored: StoredCart, policy: NotifyPolicy, now: datetime) -> Cart:
        """The cart with its single-use code, made once: a retry or a second worker finds it stored."""
        carts = self._carts()
        for _ in range(3):
            offer = DiscountCode(
                code=new_code("BACK"), percent=policy.offer_percent, valid_until=now + policy.offer_valid
            )
            try:
                return carts.save_offer(stored, offer, now).cart
            except VersionConflict:
                current = carts.get(stored.cart.cart_id)
                if current is None:
                    break
                if current.cart.offer is not None:
                    return current.cart
                stored = current
        raise RetryLater(f"cart {stored.cart.cart_id} kept changing while its code was made")

    def _defer(
        self, subject: Subject, kind: str, channel: Channel, cause: str, decision: Defer, now: datetime
    ) -> None:
        timer = TimerRequest(
            timer_id=f"send#{subject.subject_id}#{kind}#{channel}",
            action=SEND_DEFERRED,
            due_at=decision.until,
            payload=HeldMessage(
                subject_id=subject.subject_id, kind=kind, channel=channel, cause=cause
            ).model_dump_json(),
        )
        try:
            self.messages.defer(
                subject.subject_id,
                kind,
                channel,
                cause=cause,
                now=now,
                until=decision.until,
                reason=decision.reason,
                entry=_entry(subject, now, "message_deferred", f"{channel} {kind} {decision.reason}"),
                timer=timer,
            )
        except LeaseHeld:
            return

    def _park(
        self,
        subject: Subject,
        kind: str,
        channel: Channel,
        cause: str,
        status: str,
        reason: str,
        now: datetime,
    ) -> None:
        event = "message_skipped" if status == "SKIPPED" else "message_failed"
        verb = "skipped" if status == "SKIPPED" else "not sent"
        try:
            self.messages.skip(
                subject.subject_id,
                kind,
                channel,
                cause=cause,
                now=now,
                reason=reason,
                status=status,
                entry=_entry(subject, now, event, f"{channel} {kind} {verb}: {reason}"),
            )
        except LeaseHeld:
            return  # another delivery of the event settled it first
        if status == "FAILED":
            logger.error("message parked", extra=_ids(subject, kind, channel, reason))


class _Parked(Exception):
    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def _unsettled(records: dict[str, MessageRecord]) -> list[Channel]:
    """The channels whose message is not settled yet (a repeated reminder leaves the rest alone)."""
    return [c for c in CHANNELS if not (records.get(c) and records[c].final)]


def _entry(subject: Subject, now: datetime, event: str, detail: str) -> TimelineEntry:
    return TimelineEntry(
        at=now, recorded_at=now, event=event, status=subject.status, source="notify", detail=detail
    )


def _ids(subject: Subject, kind: str, channel: str, reason: str) -> dict[str, str]:
    return {"order_id": subject.subject_id, "kind": kind, "channel": channel, "reason": reason}
