"""What happened to a message, recorded on its send-once record and its subject's timeline.

Sent, refused, skipped, deferred by quiet hours, or given back to be tried again (`RetryLater`:
SQS brings the record back). Each outcome is one write of the record with its timeline line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shopflow.clock import Clock
from shopflow.kernel.messages import Channel
from shopflow.kernel.queue_messages import HeldMessage
from shopflow.kernel.timeline import TimelineEntry
from shopflow.kernel.timers import TimerRequest
from shopflow.messaging.delivery import Accepted, Rejected, SendOutcome
from shopflow.notifications.decide import Defer
from shopflow.observability import logger
from shopflow.store.messages import LeaseHeld, MessageRecord, MessageStore

SEND_DEFERRED = "send_message"  # the timer action of a message deferred by quiet hours

Subject = Any  # an order or a cart: anything with subject_id and status


class RetryLater(Exception):
    """This SQS record must come back later (its other messages are settled already)."""


@dataclass
class Outcomes:
    messages: MessageStore
    clock: Clock

    def settle(
        self,
        subject: Subject,
        kind: str,
        channel: Channel,
        claimed: MessageRecord,
        outcome: SendOutcome,
        summary: str,
        transactional: bool,
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
        if transactional:
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

    def defer(
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

    def park(
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


def _entry(subject: Subject, now: datetime, event: str, detail: str) -> TimelineEntry:
    return TimelineEntry(
        at=now, recorded_at=now, event=event, status=subject.status, source="notify", detail=detail
    )


def _ids(subject: Subject, kind: str, channel: str, reason: str) -> dict[str, str]:
    return {"order_id": subject.subject_id, "kind": kind, "channel": channel, "reason": reason}
