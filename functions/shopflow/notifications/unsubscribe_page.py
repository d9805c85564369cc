"""GET /unsubscribe/{token}: a small page that asks; POST: the unsubscribe (also RFC 8058 one-click).

GET never unsubscribes: mail scanners open links. Only marketing stops; order messages go on.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import TYPE_CHECKING

from shopflow.messaging.unsubscribe import TokenError, read_token
from shopflow.observability import logger, mask
from shopflow.store.consent import ConsentStore

if TYPE_CHECKING:  # settings are handed in
    from shopflow.config.settings import Settings

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{title}</title></head>
<body style="font-family:sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;line-height:1.5">
<h1 style="font-size:1.4rem">{title}</h1>{body}</body></html>"""

_WHAT = {"email": "marketing emails", "sms": "marketing text messages"}
_SCOPED = {"back_in_stock": "back-in-stock alerts"}


def unsubscribe_page(
    method: str, token: str, *, settings: Settings, consent: ConsentStore, now: datetime
) -> tuple[int, str]:
    shop = escape(str(settings.get("shop.name") or "the shop"))
    secret = settings.get("notify.unsubscribe.secret")
    try:
        request = read_token(token, secrets=(secret,) if isinstance(secret, str) and secret else (), now=now)
    except TokenError as exc:
        return 400, _PAGE.format(
            title="This link does not work", body=f"<p>{escape(str(exc)).capitalize()}.</p>"
        )
    what = _WHAT.get(request.channel, "marketing messages")
    if request.scope is not None:  # a link that stops one kind only (back-in-stock alerts)
        what = _SCOPED.get(request.scope, f"{request.scope.replace('_', ' ')} messages")
    who = escape(mask(request.address))
    if method == "GET":
        body = (
            f"<p>Stop {what} from {shop} to {who}? Messages about your orders will still arrive.</p>"
            '<form method="post"><button type="submit" style="font-size:1rem;padding:.5rem 1rem">'
            "Unsubscribe</button></form>"
        )
        return 200, _PAGE.format(title="Unsubscribe", body=body)
    consent.opt_out(request.channel, request.address, now=now, scope=request.scope)
    logger.info("unsubscribed", extra={"channel": request.channel, "scope": request.scope})
    body = f"<p>{who} will get no more {what} from {shop}. Messages about your orders will still arrive.</p>"
    return 200, _PAGE.format(title="You are unsubscribed", body=body)
