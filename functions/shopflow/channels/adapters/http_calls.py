"""One HTTP request to a channel with the standard library (no dependency; Lambda cold start).

Every answer, whatever its status, comes back as an `Answer`; only a request that got no answer
(connection refused, a timeout, a dropped connection) raises, as `Unavailable`. Redirects are not
followed: urllib would turn a redirected POST into a GET without its body, and would send the
credentials on to wherever the redirect points, so a 3xx is the adapter's to explain.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from shopflow.channels.ports import ChannelError, Throttled, Unavailable


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Message
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx status: an Answer


_OPENER = urllib.request.build_opener(_NoRedirects)


def where(url: str) -> str:
    """The scheme, host and path of `url` for an error message: never a query (it may hold a key)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{'' if parts.port is None else f':{parts.port}'}{parts.path}"


def send(
    url: str, *, method: str, headers: Mapping[str, str], body: bytes | None = None, timeout: float
) -> Answer:
    if urlsplit(url).scheme not in ("https", "http"):
        raise ChannelError(f"{where(url)}: a channel's url starts with https://")
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers))  # noqa: S310 - http(s) only, checked above
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Answer(error.code, error.headers, error.read())
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        # URLError wraps a refused connection; TimeoutError and ConnectionResetError are OSErrors.
        reason = getattr(error, "reason", None) or error
        raise Unavailable(f"{method} {where(url)}: no answer ({reason})") from None


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` in seconds, from delta-seconds or an HTTP-date (RFC 9110 10.2.3); None if unreadable."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(text)
    try:
        at = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return max(0.0, (at - (now or datetime.now(UTC))).total_seconds())


@dataclass(frozen=True)
class ThrottlePolicy:
    """How long one adapter call may wait out 429s before it gives up and raises `Throttled`.

    Waiting inside the call keeps a short throttle from costing a queue round trip; the bounds keep
    a Lambda from sleeping through its timeout (the queue's own back-off takes over from there).
    """

    waits: int = 2  # at most this many waits per request, then Throttled
    longest_wait: float = 10.0  # a Retry-After above this is not waited out here: Throttled at once
    default_wait: float = 1.0  # no (readable) Retry-After: 1 s, then 2 s, ...


def with_throttle_waits(
    send_once: Callable[[], Answer], *, sleep: Callable[[float], None], policy: ThrottlePolicy
) -> Answer:
    """Send; on 429 wait as `Retry-After` says (within `policy`) and send again, else raise `Throttled`."""
    waited = 0
    while True:
        answer = send_once()
        if answer.status != 429:
            return answer
        asked = retry_after_seconds(answer.header("Retry-After"))
        wait = asked if asked is not None else policy.default_wait * 2**waited
        if waited >= policy.waits or wait > policy.longest_wait:
            raise Throttled(wait, f"HTTP 429 after {waited} wait(s)")
        sleep(wait)
        waited += 1
