"""What the owner is told about a channel: paused, the breaker tripped, drift, pushes given up.

Pure: no AWS. Whoever decides (the push pausing a channel for a refused token, the breaker,
reconciliation, the dead-letter handler) builds a `ChannelAlert` and stages
`alert_message(alert)` into the same unit of work as the state change it reports (the
transactional outbox, as the oversell report does: decision 62), so the owner hears of it if and
only if it happened. The stream carries it to dispatch, dispatch to the notify queue, and the
owner's flow (`channels/flow.py`) emails `shop.owner_email` once.

    alert = ChannelAlert("main-shop", "paused", "401: token refused", (), now)
    stage_outbox_message(alert_message(alert), CHANNEL_ALERT_OWED, now, work)  # store/stock_outbox.py
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from shopflow.channels.model import CHANNEL_NAME
from shopflow.kernel.messages import CHANNELS
from shopflow.kernel.outbox import OutboxMessage, outbox_id

CHANNEL_ALERT = "ChannelAlert"  # the outbox event (dispatch routes it to the notify queue)
CHANNEL_ALERT_KIND = "channel_alert"  # the owner's message: templates/<locale>/channel_alert.*
# The messages the event owes (`kind#channel`), which its outbox item names: a send-once record
# per channel (SMS is off unless the owner switches it on, and shopflow knows no phone of theirs).
CHANNEL_ALERT_OWED: tuple[str, ...] = tuple(f"{CHANNEL_ALERT_KIND}#{channel}" for channel in CHANNELS)
# An alert's message lists this many SKUs and counts the rest: a breaker tripped by a snapshot
# that zeroes 5,000 listings stays one small outbox item and a readable email.
LINES_LISTED = 50
# A subject id never collides with an order's (sources are [a-z0-9_-]) or a cart's (`cart|`).
ALERT_SUBJECT_PREFIX = "channel|"

AlertKind = Literal["paused", "breaker", "drift", "gave_up"]
ALERT_KINDS: tuple[AlertKind, ...] = get_args(AlertKind)
_CHANNEL = re.compile(rf"^{CHANNEL_NAME}$")


class BadChannelAlertEvent(ValueError):
    """A ChannelAlert event that does not say what happened: it goes to the DLQ."""


@dataclass(frozen=True)
class AlertLine:
    """A SKU the owner should look at: its listing there, what the channel shows, what shopflow
    wants it to show (None where unknown: a webhook channel cannot be read back)."""

    sku: str
    listing_id: str | None = None
    shown: int | None = None
    wanted: int | None = None


@dataclass(frozen=True)
class ChannelAlert:
    channel: str
    kind: AlertKind
    reason: str  # why, in the words of whoever decided ("401: the token was refused")
    details: tuple[AlertLine, ...]  # empty for a pause: nothing per SKU to look at
    at: datetime
    more: int = 0  # SKUs beyond `details` (an event lists at most LINES_LISTED)

    @property
    def sku_count(self) -> int:
        return len(self.details) + self.more


def alert_id(alert: ChannelAlert) -> str:
    """The event's id, naming the alert: its channel, kind, minute, reason and SKUs. The same
    alert staged again (a retried batch, two pushes pausing one channel in the same minute) is the
    same outbox item, so the owner gets one email; other SKUs or another reason are another alert."""
    minute = alert.at.astimezone(UTC).replace(second=0, microsecond=0).isoformat()
    skus = ",".join(sorted({line.sku for line in alert.details}))
    key = f"channel-alert:{alert.channel}:{alert.kind}:{minute}:{alert.reason}:{skus}"
    return outbox_id((key,), CHANNEL_ALERT)


def alert_subject_id(channel: str, alert_outbox_id: str) -> str:
    """Where the message's send-once records and timeline are filed (`store/orders.subject_pk`):
    a channel has no order, so each alert is its own subject."""
    return f"{ALERT_SUBJECT_PREFIX}{channel}|{alert_outbox_id}"


def alert_message(alert: ChannelAlert) -> OutboxMessage:
    """The outbox event announcing `alert` (at most LINES_LISTED SKUs listed, the rest counted)."""
    if not _CHANNEL.match(alert.channel):
        raise ValueError(f"a channel alert names a channel ([a-z0-9-]{{1,32}}), not {alert.channel!r}")
    if alert.kind not in ALERT_KINDS:
        raise ValueError(f"a channel alert is one of {', '.join(ALERT_KINDS)}, not {alert.kind!r}")
    if not alert.reason.strip():
        raise ValueError(f"a channel alert says why ({alert.channel} {alert.kind})")
    if alert.at.tzinfo is None:
        raise ValueError("a channel alert's time is aware (UTC)")
    listed = alert.details[:LINES_LISTED]
    payload = {
        "channel": alert.channel,
        "kind": alert.kind,
        "reason": alert.reason,
        "details": [
            {"sku": line.sku, "listing_id": line.listing_id, "shown": line.shown, "wanted": line.wanted}
            for line in listed
        ],
        "more": alert.more + len(alert.details) - len(listed),
        "at": alert.at.isoformat(),
    }
    return OutboxMessage(
        outbox_id=alert_id(alert),
        event_type=CHANNEL_ALERT,
        payload=json.dumps(payload, separators=(",", ":")),
    )


def _count(value: Any) -> int | None:
    return None if value is None else int(value)


def alert_from_event(event: Mapping[str, Any]) -> ChannelAlert:
    """The alert a ChannelAlert event carries (what `alert_message` wrote)."""
    try:
        kind = str(event["kind"])
        if kind not in ALERT_KINDS:
            raise ValueError(kind)
        alert = ChannelAlert(
            channel=str(event["channel"]),
            kind=kind,
            reason=str(event["reason"]),
            details=tuple(
                AlertLine(
                    sku=str(line["sku"]),
                    listing_id=None if line.get("listing_id") is None else str(line["listing_id"]),
                    shown=_count(line.get("shown")),
                    wanted=_count(line.get("wanted")),
                )
                for line in event["details"]
            ),
            at=datetime.fromisoformat(str(event["at"])),
            more=int(event.get("more") or 0),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BadChannelAlertEvent(f"{CHANNEL_ALERT} without its alert: {type(exc).__name__}") from None
    if not _CHANNEL.match(alert.channel) or alert.at.tzinfo is None:
        raise BadChannelAlertEvent(f"{CHANNEL_ALERT} names no channel or a naive time")
    return alert
