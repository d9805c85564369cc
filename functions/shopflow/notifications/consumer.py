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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shopflow.clock import Clock
from shopflow.messaging.delivery import Accepted, Email, Rejected, SendOutcome, SesSender, SnsSender
from shopflow.messaging.unsubscribe import make_token
from shopflow.notifications.decide import Defer, Send, Skip, decide, review_links
from shopflow.notifications.kinds import CHANNELS, TRANSACTIONAL, Channel, kinds_for
from shopflow.notifications.policy import NotifyPolicy, policy_from
from shopflow.observability import logger, mask
from shopflow.orders.changes import TimelineEntry
from shopflow.orders.model import Order, OrderStatus
from shopflow.store.consent import ConsentStore
from shopflow.store.messages import (
    CapReached,
    FrequencyCap,
    LeaseHeld,
    MessageRecord,
    MessageStore,
    customer_key,
)
from shopflow.store.orders import TimerRequest

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from shopflow.config.settings import Settings
    from shopflow.messaging.render import Renderer
    from shopflow.store.orders import StoredOrder

# Shorter than the notify queue's visibility timeout (180 s): when SQS brings a message back,
# the lease of the attempt that gave up on it has ended.
LEASE = timedelta(seconds=120)
# Throttling and 5xx mean the provider did not take the message: safe to try again at once.
REJECTED_ATTEMPTS = 3
SEND_DEFERRED = "send_message"  # the timer action of a message deferred by quiet hours


class RetryLater(Exception):
    """This SQS record must come back later (its other messages are settled already)."""


class BadNotifyMessage(ValueError):
    """The SQS body is not an outbox event: it goes to the DLQ after its receives."""


@dataclass(frozen=True)
class NotifyEvent:
    cause: str  # outbox_id
    event_type: str
    order_id: str
    status: OrderStatus


def parse_body(body: str) -> NotifyEvent | dict[str, Any]:
    """An outbox event, or the payload of a message deferred by quiet hours (`{"deferred": ...}`)."""
    try:
        document = json.loads(body)
        if isinstance(document, dict) and isinstance(document.get("deferred"), dict):
            deferred: dict[str, Any] = document["deferred"]
            return deferred
        event = document["event"]
        return NotifyEvent(
            cause=str(document["outbox_id"]),
            event_type=str(document["type"]),
            order_id=str(event["order_id"]),
            status=OrderStatus(event["status"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise BadNotifyMessage(f"not an outbox event: {type(exc).__name__}: {exc}") from None


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
    sleep: Callable[[float], None] = field(default=time.sleep)

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

        processor = BatchProcessor(event_type=EventType.SQS)
        return process_partial_response(  # type: ignore[return-value]  # a TypedDict of that dict
            event=event, record_handler=self._record, processor=processor, context=context
        )

    def _record(self, record: SQSRecord) -> None:
        parsed = parse_body(record.body)
        if isinstance(parsed, NotifyEvent):
            self.notify(parsed)
        else:
            self.send_deferred(parsed)  # put back on this queue by its timer

    def notify(self, event: NotifyEvent) -> None:
        kinds = kinds_for(event.event_type, event.status)
        if not kinds:
            return
        stored = self.get_order(event.order_id)
        if stored is None:
            raise RetryLater(f"order {event.order_id} not found")  # cannot happen: written with the event
        policy = policy_from(self.settings())
        again: list[str] = []
        for kind in kinds:
            records = self.messages.records(event.order_id, kind)
            for channel in CHANNELS:
                # A settled record (a repeated delivery of the event) makes deliver() do nothing.
                record = records.get(channel)
                try:
                    self.deliver(stored.order, kind, channel, cause=event.cause, policy=policy, record=record)
                except RetryLater as exc:
                    again.append(f"{channel} {kind}: {exc}")
        if again:
            raise RetryLater("; ".join(again))

    def deliver(
        self,
        order: Order,
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
        decision = decide(order, kind, channel, policy, now)
        if isinstance(decision, Skip):
            self._park(order, kind, channel, cause, "SKIPPED", decision.reason, now)
            return
        if isinstance(decision, Defer):
            self._defer(order, kind, channel, cause, decision, now)
            return
        if kind not in TRANSACTIONAL and self.consent.opted_out(channel, decision.address):
            self._park(order, kind, channel, cause, "SKIPPED", f"unsubscribed from {channel} marketing", now)
            return
        try:
            send, summary = self._prepared(order, kind, channel, decision, policy)
        except _Parked as parked:
            self._park(order, kind, channel, cause, parked.status, parked.reason, now)
            return
        cap = None
        if kind not in TRANSACTIONAL:
            customer = order.customer
            key = customer_key(order.source, customer.external_id, customer.email, customer.phone)
            cap = FrequencyCap(key, policy.marketing_cap)
        try:
            claimed = self.messages.claim(
                order.order_id, kind, channel, cause=cause, now=now, lease=LEASE, cap=cap
            )
        except CapReached:
            hours = policy.marketing_cap // timedelta(hours=1)
            why = f"frequency cap: the customer had a marketing message in the last {hours} h"
            self._park(order, kind, channel, cause, "SKIPPED", why, now)
            return
        except LeaseHeld:
            current = self.messages.records(order.order_id, kind).get(channel)
            if current is not None and current.final:
                return  # settled by another delivery meanwhile
            raise RetryLater("claimed by another worker") from None
        outcome = self._send_with_retries(send)
        self._settle(order, kind, channel, claimed, outcome, summary, decision)

    def _prepared(
        self, order: Order, kind: str, channel: Channel, decision: Send, policy: NotifyPolicy
    ) -> tuple[Callable[[], SendOutcome], str]:
        """The provider call to make and how the timeline will describe the message."""
        from shopflow.messaging.render import Coupon, MessageContext, RenderError, Shop

        code = order.delay_coupon
        unsubscribe_url = None
        if channel == "email" and kind not in TRANSACTIONAL:
            unsubscribe_url = self._unsubscribe_url(decision.address, policy)
        links: tuple[tuple[str, str], ...] = ()
        if kind == "review":
            if policy.review_url_template is None:
                raise _Parked("SKIPPED", "no review page configured (notify.review.url_template)")
            links = review_links(order, policy.review_url_template)
            if not links:
                raise _Parked("SKIPPED", "no product of the order has a review page")
        context = MessageContext(
            order=order,
            locale=decision.locale,
            timezone=decision.timezone,
            shop=Shop(name=policy.shop_name, url=policy.shop_url),
            coupon=Coupon(code.code, code.percent, code.valid_until) if code else None,
            review_links=links,
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
                sender_name=policy.shop_name,
                subject=content.subject,
                html=content.html,
                text=content.text,
                language=decision.locale,
                reply_to=policy.reply_to,
                configuration_set=policy.configuration_set,
                headers=headers,
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
        order: Order,
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
                entry=_entry(order, now, "message_sent", f"{what} sent {summary}{earlier}"),
            )
            logger.info(
                "message sent",
                extra={
                    "order_id": order.order_id,
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
                entry=_entry(order, now, "message_failed", f"{what} failed: {outcome.reason}"),
            )
            logger.warning("message refused", extra=_ids(order, kind, channel, outcome.reason))
            return
        if isinstance(outcome, Rejected):
            self.messages.release(claimed, now=now, reason=outcome.reason, uncertain=False)
            logger.warning("message not sent; will retry", extra=_ids(order, kind, channel, outcome.reason))
            raise RetryLater(outcome.reason)
        # Unknown: the provider may have taken it.
        if kind in TRANSACTIONAL:
            # At least once: after the lease the message is sent again, and the record will say so.
            self.messages.release(claimed, now=now, reason=outcome.reason, uncertain=True)
            logger.warning("message outcome unknown", extra=_ids(order, kind, channel, outcome.reason))
            raise RetryLater(outcome.reason)
        # Marketing: at most once.
        reason = f"outcome unknown ({outcome.reason}); not retried: marketing is sent at most once"
        self.messages.settle(
            claimed,
            status="FAILED",
            now=now,
            reason=reason,
            entry=_entry(order, now, "message_failed", f"{what} {reason}"),
        )

    def send_deferred(self, payload: dict[str, Any]) -> None:
        """A message that waited for the end of quiet hours: its timer put it back on the queue."""
        order_id, kind, channel = str(payload["order_id"]), str(payload["kind"]), payload["channel"]
        stored = self.get_order(order_id)
        if stored is None or channel not in CHANNELS:
            raise BadNotifyMessage(
                f"deferred message for {order_id} {kind} {channel}: no such order or channel"
            )
        record = self.messages.records(order_id, kind).get(channel)
        self.deliver(
            stored.order,
            kind,
            channel,
            cause=str(payload["cause"]),
            policy=policy_from(self.settings()),
            record=record,
        )

    def _defer(
        self, order: Order, kind: str, channel: Channel, cause: str, decision: Defer, now: datetime
    ) -> None:
        timer = TimerRequest(
            timer_id=f"send#{order.order_id}#{kind}#{channel}",
            action=SEND_DEFERRED,
            due_at=decision.until,
            payload=json.dumps(
                {"order_id": order.order_id, "kind": kind, "channel": channel, "cause": cause}
            ),
        )
        try:
            self.messages.defer(
                order.order_id,
                kind,
                channel,
                cause=cause,
                now=now,
                until=decision.until,
                reason=decision.reason,
                entry=_entry(order, now, "message_deferred", f"{channel} {kind} {decision.reason}"),
                timer=timer,
            )
        except LeaseHeld:
            return

    def _park(
        self, order: Order, kind: str, channel: Channel, cause: str, status: str, reason: str, now: datetime
    ) -> None:
        event = "message_skipped" if status == "SKIPPED" else "message_failed"
        verb = "skipped" if status == "SKIPPED" else "not sent"
        try:
            self.messages.skip(
                order.order_id,
                kind,
                channel,
                cause=cause,
                now=now,
                reason=reason,
                status=status,
                entry=_entry(order, now, event, f"{channel} {kind} {verb}: {reason}"),
            )
        except LeaseHeld:
            return  # another delivery of the event settled it first
        if status == "FAILED":
            logger.error("message parked", extra=_ids(order, kind, channel, reason))


class _Parked(Exception):
    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def _entry(order: Order, now: datetime, event: str, detail: str) -> TimelineEntry:
    return TimelineEntry(
        at=now, recorded_at=now, event=event, status=order.status, source="notify", detail=detail
    )


def _ids(order: Order, kind: str, channel: str, reason: str) -> dict[str, str]:
    return {"order_id": order.order_id, "kind": kind, "channel": channel, "reason": reason}
