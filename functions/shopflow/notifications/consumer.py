"""notify: every message flow's messages -> decided, sent once, settled with the reason.

Flows (order status messages, cart reminders, review requests, replenishment reminders, ...)
register their message kinds and the queue bodies they take (`kernel.messages.MessageFlow`);
this pipeline knows none of them by name. For each message it decides (settings, contact,
consent, quiet hours), claims the send-once record, renders, makes one provider call and settles
the record with a timeline entry saying what happened and why. A message that must be tried
again (throttled, provider down, outcome unknown, another worker holding it) fails only its own
SQS record, so the rest of the batch completes; SQS brings it back and after 5 receives moves it
to the DLQ. A template that does not render is parked (FAILED with the reason): retrying cannot help.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from shopflow.carts.model import Cart
from shopflow.clock import Clock
from shopflow.kernel.messages import CHANNELS, Channel, MessageFlow, MessageKind, NotYet
from shopflow.kernel.queue_messages import HeldMessage, MessageRouter, legacy_body
from shopflow.kernel.skip import Skip
from shopflow.messaging.delivery import Rejected, SendOutcome, SesSender, SnsSender
from shopflow.notifications.compose import Parked, Providers, compose, unsubscribe_url
from shopflow.notifications.decide import Defer, Send, decide
from shopflow.notifications.outcomes import SEND_DEFERRED, Outcomes, RetryLater
from shopflow.notifications.policy import NotifyPolicy, policy_from
from shopflow.orders.model import Order
from shopflow.store.consent import ConsentStore
from shopflow.store.messages import (
    CapReached,
    FrequencyCap,
    LeaseHeld,
    MessageRecord,
    MessageStore,
    customer_key,
)

__all__ = ["LEASE", "SEND_DEFERRED", "BadNotifyMessage", "NotifyConsumer", "RetryLater"]

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    from shopflow.config.settings import Settings
    from shopflow.messaging.render import Renderer

# Shorter than the notify queue's visibility timeout (180 s): when SQS brings a message back,
# the lease of the attempt that gave up on it has ended.
LEASE = timedelta(seconds=120)
# Throttling and 5xx mean the provider did not take the message: safe to try again at once.
REJECTED_ATTEMPTS = 3


Subject = Order | Cart  # what a message is about: its records and timeline are filed under it


class BadNotifyMessage(ValueError):
    """The SQS body names nothing notify can act on: it goes to the DLQ after its receives."""


@dataclass
class NotifyConsumer:
    messages: MessageStore
    settings: Callable[[], Settings]
    renderer: Callable[[], Renderer]
    email: SesSender
    sms: SnsSender
    clock: Clock
    consent: ConsentStore
    flows: Sequence[MessageFlow]
    api_url: str | None = None  # where unsubscribe links point (the API's base URL)
    sleep: Callable[[float], None] = field(default=time.sleep)
    router: MessageRouter = field(init=False)
    outcomes: Outcomes = field(init=False)
    _flow_of: dict[str, MessageFlow] = field(init=False)
    _kinds: dict[str, MessageKind] = field(init=False)

    def __post_init__(self) -> None:
        self._flow_of, self._kinds = {}, {}
        self.outcomes = Outcomes(self.messages, self.clock)
        self.router = MessageRouter()
        self.router.register(SEND_DEFERRED, HeldMessage, self.send_held)
        for flow in self.flows:
            for kind in flow.kinds:
                if kind.name in self._kinds:
                    raise ValueError(f"two flows send {kind.name!r}")
                self._flow_of[kind.name], self._kinds[kind.name] = flow, kind
            for type_name, model, handler in flow.routes(self):
                self.router.register(type_name, model, handler)

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

        processor = BatchProcessor(event_type=EventType.SQS)
        return process_partial_response(  # type: ignore[return-value]  # a TypedDict of that dict
            event=event, record_handler=self._record, processor=processor, context=context
        )

    def _record(self, record: SQSRecord) -> None:
        self.router.route(legacy_body(record.body))

    # What flows ask of the pipeline (kernel.messages.Outbound).

    def send(self, subject: Subject, kind: str, *, cause: str) -> None:
        """`deliver` on every channel; RetryLater naming those that must come back later.
        A settled record (a repeated delivery) makes deliver() do nothing."""
        policy = policy_from(self.settings())
        records = self.messages.records(subject.subject_id, kind)
        again: list[str] = []
        for channel in CHANNELS:
            try:
                self.deliver(subject, kind, channel, cause=cause, policy=policy, record=records.get(channel))
            except RetryLater as exc:
                again.append(f"{channel} {kind}: {exc}")
        if again:
            raise RetryLater("; ".join(again))

    def skip_waiting(self, subject: Subject, kind: str, *, cause: str, reason: str) -> None:
        """Every channel's message not settled yet is skipped for `reason` (a repeated reminder
        leaves the settled ones alone)."""
        now = self.clock.now()
        for channel in self.waiting(subject.subject_id, kind):
            self.outcomes.park(subject, kind, channel, cause, "SKIPPED", reason, now)

    def waiting(self, subject_id: str, kind: str) -> tuple[Channel, ...]:
        records = self.messages.records(subject_id, kind)
        return tuple(c for c in CHANNELS if not (records.get(c) and records[c].final))

    def send_held(self, message: HeldMessage) -> None:
        """A message whose time has come (quiet hours ended, a review request): its timer put it
        here. Its flow checks the subject again first: the world may have changed meanwhile."""
        subject_id, kind, channel = message.subject_id, message.kind, message.channel
        flow = self._flow_of.get(kind)
        subject = flow.subject(subject_id) if flow is not None else None
        if subject is None or channel not in CHANNELS:
            raise BadNotifyMessage(
                f"deferred message for {subject_id} {kind} {channel}: no such subject, kind or channel"
            )
        assert flow is not None
        record = self.messages.records(subject_id, kind).get(channel)
        now = self.clock.now()
        checked = flow.recheck(subject, kind, now)
        if isinstance(checked, NotYet):
            return  # a re-armed timer sends it
        if isinstance(checked, Skip):
            if not (record and record.final):
                self.outcomes.park(subject, kind, channel, message.cause, "SKIPPED", checked.reason, now)
            return
        policy = policy_from(self.settings())
        self.deliver(checked, kind, channel, cause=message.cause, policy=policy, record=record)

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
        """Decide, render, claim, send once and settle one message; `RetryLater` if it must wait."""
        now = self.clock.now()
        if record is not None and record.final:
            return
        if record is not None and record.leased_at(now):
            raise RetryLater("being sent by another worker")
        if record is not None and record.deferred_until is not None and now < record.deferred_until:
            return  # waiting for its timer (quiet hours); a repeated event changes nothing
        transactional, requested = self._kind(kind).transactional, self._kind(kind).requested
        # A message the customer asked for needs no marketing consent (decide), nor the cap.
        decision = decide(subject, kind, channel, policy, now, transactional=transactional or requested)
        if isinstance(decision, Skip):
            self.outcomes.park(subject, kind, channel, cause, "SKIPPED", decision.reason, now)
            return
        if isinstance(decision, Defer):
            self.outcomes.defer(subject, kind, channel, cause, decision, now)
            return
        if not transactional and self.consent.opted_out(channel, decision.address):
            self.outcomes.park(
                subject, kind, channel, cause, "SKIPPED", f"unsubscribed from {channel} marketing", now
            )
            return
        if requested and self.consent.opted_out(channel, decision.address, kind):
            why = f"stopped {kind.replace('_', ' ')} messages by {channel}"
            self.outcomes.park(subject, kind, channel, cause, "SKIPPED", why, now)
            return
        try:
            send, summary = self._composed(subject, kind, channel, decision, policy, transactional)
        except Parked as parked:
            self.outcomes.park(subject, kind, channel, cause, parked.status, parked.reason, now)
            return
        cap = None
        if not (transactional or requested):
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
            self.outcomes.park(subject, kind, channel, cause, "SKIPPED", why, now)
            return
        except LeaseHeld:
            current = self.messages.records(subject.subject_id, kind).get(channel)
            if current is not None and current.final:
                return  # settled by another delivery meanwhile
            raise RetryLater("claimed by another worker") from None
        outcome = self._send_with_retries(send)
        self.outcomes.settle(subject, kind, channel, claimed, outcome, summary, transactional)

    def _kind(self, kind: str) -> MessageKind:
        found = self._kinds.get(kind)
        if found is None:
            raise BadNotifyMessage(f"no flow sends {kind!r} messages")
        return found

    def _composed(
        self,
        subject: Subject,
        kind: str,
        channel: Channel,
        decision: Send,
        policy: NotifyPolicy,
        transactional: bool,
    ) -> tuple[Callable[[], SendOutcome], str]:
        now = self.clock.now()
        link = None
        if channel == "email" and not transactional:
            scope = kind if self._kind(kind).requested else None  # stops this kind only
            link = unsubscribe_url(decision.address, policy, self.api_url, now, scope)
        extras = self._flow_of[kind].extras(subject, kind)
        if isinstance(extras, Skip):
            raise Parked("SKIPPED", extras.reason)
        providers = Providers(self.email, self.sms)
        return compose(
            subject,
            kind,
            channel,
            decision,
            policy,
            transactional=transactional,
            extras=extras,
            link=link,
            renderer=self.renderer(),
            providers=providers,
            now=now,
        )

    def _send_with_retries(self, send: Callable[[], SendOutcome]) -> SendOutcome:
        outcome = send()
        for attempt in range(1, REJECTED_ATTEMPTS):
            if not (isinstance(outcome, Rejected) and outcome.retryable):
                break
            self.sleep(random.uniform(0, 0.1 * 2**attempt))  # noqa: S311 - jitter, not secrecy
            outcome = send()
        return outcome
