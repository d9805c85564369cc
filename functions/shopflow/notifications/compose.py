"""A decided message, rendered into the one provider call that sends it.

Raises `Parked` when the message cannot be made (no unsubscribe link possible, a template that
fails, an SMS over the owner's segment cap): retrying cannot help, so it is recorded, not retried.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shopflow.kernel.messages import Channel, Extras
from shopflow.messaging.delivery import Email, SendOutcome, SesSender, SnsSender
from shopflow.messaging.unsubscribe import make_token
from shopflow.notifications.decide import Send
from shopflow.notifications.policy import NotifyPolicy
from shopflow.observability import mask

if TYPE_CHECKING:
    from shopflow.messaging.render import Renderer


class Parked(Exception):
    """The message is recorded with this status (SKIPPED or FAILED) and reason, not sent."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def unsubscribe_url(
    address: str, policy: NotifyPolicy, api_url: str | None, now: datetime, scope: str | None = None
) -> str:
    """The one-click unsubscribe link every marketing email carries (or it is not sent); with a
    `scope` (a message kind the customer asked for) it stops that kind only."""
    if not (policy.unsubscribe_secret and api_url):
        raise Parked("SKIPPED", "no unsubscribe link possible: notify.unsubscribe.secret is not set")
    token = make_token("email", address, secret=policy.unsubscribe_secret, now=now, scope=scope)
    return f"{api_url.rstrip('/')}/unsubscribe/{token}"


@dataclass(frozen=True)
class Providers:
    email: SesSender
    sms: SnsSender


def compose(
    subject: Any,
    kind: str,
    channel: Channel,
    decision: Send,
    policy: NotifyPolicy,
    *,
    transactional: bool,
    extras: Extras,
    link: str | None,  # the unsubscribe link of a marketing email
    renderer: Renderer,
    providers: Providers,
    now: datetime,
) -> tuple[Callable[[], SendOutcome], str]:
    """The provider call to make and how the timeline will describe the message."""
    from shopflow.messaging.render import Coupon, MessageContext, RenderError, Shop

    code = extras.coupon
    context = MessageContext(
        subject=subject,
        locale=decision.locale,
        timezone=decision.timezone,
        shop=Shop(name=policy.shop_name, url=policy.shop_url),
        coupon=Coupon(code.code, code.percent, code.valid_until) if code else None,
        product_links=extras.product_links,
        unsubscribe_url=link,
    )
    notes = "".join(f"; {note}" for note in decision.notes)
    try:
        if channel == "email":
            content = renderer.render_email(kind, context)
        else:
            sms = renderer.render_sms(kind, context)
    except RenderError as exc:
        raise Parked("FAILED", f"template failed: {exc}") from None
    if channel == "email":
        assert policy.sender is not None  # decide() skips when it is missing
        headers = {}
        if link is not None:  # RFC 8058 one-click
            headers = {"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
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
            sent_at=now,
        )
        return (
            lambda: providers.email.send(email)
        ), f"to {mask(decision.address)} ({decision.locale}{notes})"
    if sms.segments > policy.sms_max_segments:
        raise Parked(
            "SKIPPED", f"{sms.segments} segments ({sms.encoding}), over the cap of {policy.sms_max_segments}"
        )
    segments = f"{sms.segments} segment{'' if sms.segments == 1 else 's'} {sms.encoding}"
    return (
        lambda: providers.sms.send(decision.address, sms.body, transactional=transactional)
    ), f"to {mask(decision.address)} ({decision.locale}, {segments}{notes})"
