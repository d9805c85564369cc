"""Whether one message goes out, to whom, in which language: pure, from the order and the policy."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shopflow.carts.model import Cart
from shopflow.kernel.skip import Skip
from shopflow.messaging.addresses import UndeliverableAddress, wire_address
from shopflow.notifications.kinds import TRANSACTIONAL, Channel
from shopflow.notifications.policy import NotifyPolicy
from shopflow.orders.model import Order, OrderStatus

SUPPORTED_LOCALES = ("en", "ru", "pl")


@dataclass(frozen=True)
class Send:
    address: str  # an email address, or a phone number in E.164
    locale: str
    timezone: str
    notes: tuple[str, ...] = ()  # fallbacks taken (locale, timezone), for the timeline


@dataclass(frozen=True)
class Defer:
    """An SMS due in the customer's quiet hours: it waits for their end, it is not dropped."""

    until: datetime
    reason: str


def decide(
    subject: Order | Cart, kind: str, channel: Channel, policy: NotifyPolicy, now: datetime
) -> Send | Skip | Defer:
    """`subject`: the order, or the cart of a cart reminder (checked by its own rules first)."""
    if not policy.sends(kind, channel):
        return Skip(f"{channel} disabled for {kind}")
    customer = subject.customer
    if kind == "review" and isinstance(subject, Order) and subject.status is not OrderStatus.DELIVERED:
        return Skip(f"order is {subject.status} now")
    if kind not in TRANSACTIONAL and not getattr(customer.consent, channel):
        return Skip(f"no {channel} marketing consent")
    if channel == "email":
        if policy.sender is None:
            return Skip("no sender address configured (notify.email.sender)")
        if not customer.email:
            return Skip("no email address")
        try:
            wire_address(customer.email)  # what SES will be given: ASCII local part, IDNA domain
        except UndeliverableAddress as exc:
            return Skip(str(exc))
        address = customer.email
    else:
        if not customer.phone:
            return Skip("no phone number")
        phone = e164(customer.phone)
        if phone is None:
            return Skip("invalid phone number")
        address = phone
    locale, locale_note = resolve_locale(customer.locale, policy.locale_fallback)
    timezone, timezone_note = _timezone(customer.timezone, policy.shop_timezone)
    if channel == "sms" and policy.quiet_hours is not None:
        until = quiet_until(now, ZoneInfo(timezone), *policy.quiet_hours)
        if until is not None:
            start, end = (f"{t:%H:%M}" for t in policy.quiet_hours)
            local = until.astimezone(ZoneInfo(timezone))
            return Defer(until, f"quiet hours {start}-{end} {timezone}: deferred to {local:%Y-%m-%d %H:%M}")
    notes = tuple(note for note in (locale_note, timezone_note) if note)
    return Send(address=address, locale=locale, timezone=timezone, notes=notes)


def product_links(order: Order, url_template: str) -> tuple[tuple[str, str], ...]:
    """(product name, review page) once per page, in the order's line order. A page template with
    {sku} reviews each variant; one with {product_id} reviews each product once."""
    by_sku = "{sku}" in url_template
    seen: set[str] = set()
    links: list[tuple[str, str]] = []
    for line in order.lines:
        if ("{product_id}" in url_template and not line.product_id) or (by_sku and not line.sku):
            continue
        page = url_template.format(product_id=line.product_id or "", sku=line.sku or "")
        if page not in seen:
            seen.add(page)
            links.append((line.name, page))
    return tuple(links)


def shop_links(order: Order, url_template: str | None, shop_url: str | None) -> tuple[tuple[str, str], ...]:
    """(product name, where to buy it again): its page when the template can be filled for the
    line, else the shop's home page; () when there is neither."""
    links: list[tuple[str, str]] = []
    for line in order.lines:
        page = None
        if url_template is not None:
            page = product_links(order.model_copy(update={"lines": (line,)}), url_template)
        if page:
            links.append(page[0])
        elif shop_url is not None:
            links.append((line.name, shop_url))
    return tuple(links)


def quiet_until(now: datetime, zone: ZoneInfo, start: time, end: time) -> datetime | None:
    """The end of the quiet hours `now` falls in (in UTC), or None outside them.

    The window may cross midnight (21:00-08:00). Local times are taken as the zone's wall clock,
    so the end is 08:00 on the customer's clock also on a day the clocks change.
    """
    local = now.astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    if start == end:
        return None
    crosses_midnight = start > end
    inside = (clock >= start or clock < end) if crosses_midnight else (start <= clock < end)
    if not inside:
        return None
    end_day = local.date() + timedelta(days=1) if crosses_midnight and clock >= start else local.date()
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(UTC)


def resolve_locale(requested: str | None, fallback: str) -> tuple[str, str | None]:
    """('pl', None) for 'pl-PL'; the fallback and why, for a missing or unsupported locale."""
    if fallback not in SUPPORTED_LOCALES:
        raise ValueError(f"fallback locale {fallback!r} is not one of {', '.join(SUPPORTED_LOCALES)}")
    if not requested or not requested.strip():
        return fallback, f"no locale; used {fallback}"
    language = re.split(r"[-_]", requested.strip(), maxsplit=1)[0].lower()
    if language in SUPPORTED_LOCALES:
        return language, None
    return fallback, f"unknown locale {requested.strip()}; used {fallback}"


def e164(phone: str) -> str | None:
    """The number in E.164 (+48601234567), or None when it is not a valid international number."""
    import phonenumbers  # its metadata loads lazily, and only SMS needs it

    try:
        parsed = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _timezone(requested: str | None, fallback: str) -> tuple[str, str | None]:
    if requested:
        try:
            ZoneInfo(requested)
        except (ZoneInfoNotFoundError, ValueError):
            return fallback, f"unknown time zone {requested}; used {fallback}"
        return requested, None
    return fallback, None
