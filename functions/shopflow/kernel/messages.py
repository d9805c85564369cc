"""What a message flow is, as the notify pipeline sees it: pure declarations, no AWS.

A *message flow* is one capability's story of the messages it causes (order status messages,
abandoned-cart reminders, review requests, replenishment reminders, ...). It declares its
message kinds, the queue bodies it takes, how to load a message's subject, and what to check
again when the message is about to go. The notify pipeline does the rest for every flow alike:
decide (settings, contact, consent, quiet hours) -> claim the send-once record -> render ->
send -> settle, the reason on the subject's timeline.

Flows implement `MessageFlow` structurally and talk to the pipeline through `Outbound`, so a
capability never imports the pipeline and the pipeline never names a flow (decision 55).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel

from shopflow.kernel.skip import Skip

Channel = Literal["email", "sms"]
CHANNELS: tuple[Channel, ...] = ("email", "sms")


@dataclass(frozen=True)
class MessageKind:
    """One kind of message: its templates are templates/<locale>/<name>.*."""

    name: str
    # Transactional: about the customer's own order, sent without marketing consent. Marketing
    # needs consent for the channel, honours unsubscribes and the frequency cap, and carries
    # one-click unsubscribe.
    transactional: bool
    sms_by_default: bool = False  # every kind goes by email unless the owner says otherwise
    # What its templates show besides the subject: a message without it is not rendered.
    needs_coupon: bool = False
    needs_links: bool = False  # product links (a review page, where to buy again)
    # Marketing the customer asked for (a back-in-stock alert): no consent needed and no
    # frequency cap; opt-outs apply, and its email carries a one-click stop of this kind only.
    requested: bool = False


class CouponLike(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def percent(self) -> int: ...
    @property
    def valid_until(self) -> datetime: ...


@dataclass(frozen=True)
class Extras:
    """What the message shows besides its subject: product links, a single-use code."""

    product_links: tuple[tuple[str, str], ...] = ()  # (product name, page)
    coupon: CouponLike | None = None


@dataclass(frozen=True)
class NotYet:
    """The subject changed so that this message is not due yet: a re-armed timer sends it then."""

    due_at: datetime | None = None


# (queue body type, its model, the handler) a flow registers on the notify queue's router.
Route = tuple[str, type[BaseModel], Callable[[Any], None]]


class Outbound(Protocol):
    """What a flow asks of the notify pipeline. `send` and `skip_waiting` act on every channel
    whose message is not settled yet; `send` raises the pipeline's RetryLater when a channel's
    message must come back later (the others are settled by then)."""

    def send(self, subject: Any, kind: str, *, cause: str) -> None: ...

    def skip_waiting(self, subject: Any, kind: str, *, cause: str, reason: str) -> None: ...

    def waiting(self, subject_id: str, kind: str) -> tuple[Channel, ...]: ...


class MessageFlow(Protocol):
    """One capability's messages. `subject` is what the message is about (an order, a cart):
    anything with subject_id, status, source, customer and currency."""

    @property
    def kinds(self) -> tuple[MessageKind, ...]: ...

    def routes(self, outbound: Outbound) -> Iterable[Route]:
        """The queue bodies this flow takes on the notify queue and what handles each."""
        ...

    def subject(self, subject_id: str) -> Any | None:
        """The subject a held message names, or None when there is no such thing."""
        ...

    def recheck(self, subject: Any, kind: str, now: datetime) -> Any | Skip | NotYet:
        """Checked again whenever a held message is about to go (its timer fired, quiet hours
        ended): the subject as the message shows it, why it does not go, or not yet."""
        ...

    def extras(self, subject: Any, kind: str) -> Extras | Skip:
        """Links and codes the message shows, or why it cannot be sent (e.g. no page to link)."""
        ...
