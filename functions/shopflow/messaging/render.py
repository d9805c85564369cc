"""Messages from `templates/`: email (subject, html, text) and SMS, per kind and locale.

jinja2 with `StrictUndefined`, so a template that names something missing fails loudly instead
of sending a blank; money, dates and plurals are Babel's, for the customer's locale and time zone.
Pure: no I/O beyond reading the templates.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_percent

from shopflow.notifications.decide import SUPPORTED_LOCALES, resolve_locale
from shopflow.notifications.kinds import KINDS
from shopflow.orders.model import Order

LOCALES: tuple[str, ...] = SUPPORTED_LOCALES
__all__ = [
    "KINDS",
    "LOCALES",
    "Coupon",
    "EmailContent",
    "MessageContext",
    "RenderError",
    "Renderer",
    "Shop",
    "SmsContent",
    "resolve_locale",
    "sms_segments",
    "templates_path",
]


class RenderError(Exception):
    """A template failed; the message names the template file and the cause."""


@dataclass(frozen=True)
class Shop:
    name: str
    url: str | None = None
    support_email: str | None = None


@dataclass(frozen=True)
class Coupon:
    code: str
    percent: int
    valid_until: datetime


@dataclass(frozen=True)
class MessageContext:
    order: Order
    locale: str  # one of LOCALES
    timezone: str  # IANA
    shop: Shop
    coupon: Coupon | None = None


@dataclass(frozen=True)
class EmailContent:
    subject: str
    html: str
    text: str


@dataclass(frozen=True)
class SmsContent:
    body: str
    encoding: str  # GSM-7 | UCS-2
    segments: int


# GSM 03.38: the basic set (1 septet) and the extension table (escape + char: 2 septets).
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


def sms_segments(text: str) -> tuple[str, int]:
    """(encoding, segments): GSM-7 160 septets in one, 153 a part; else UCS-2 70 in one, 67 a part."""
    if all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in text):
        septets = sum(2 if c in _GSM_EXTENDED else 1 for c in text)
        return "GSM-7", 1 if septets <= 160 else -(-septets // 153)
    units = len(text.encode("utf-16-le")) // 2
    return "UCS-2", 1 if units <= 70 else -(-units // 67)


def templates_path() -> Path:
    """$SHOPFLOW_TEMPLATES_DIR, else the checkout's templates/, else the Lambda layer at /opt."""
    configured = os.environ.get("SHOPFLOW_TEMPLATES_DIR")
    candidates = [Path(configured)] if configured else []
    candidates += [Path(__file__).resolve().parents[3] / "templates", Path("/opt")]
    for candidate in candidates:
        if (candidate / "_layout.html").is_file():
            return candidate
    raise RenderError(f"no templates folder (with _layout.html) in {', '.join(map(str, candidates))}")


class _Formats:
    """The Babel-backed filters of one context (locale, time zone, currency)."""

    def __init__(self, context: MessageContext) -> None:
        self._locale = Locale.parse(context.locale)
        self._zone = ZoneInfo(context.timezone)
        self._currency = context.order.currency

    def money(self, amount: Decimal | int, currency: str | None = None) -> str:
        return str(format_currency(Decimal(amount), currency or self._currency, locale=self._locale))

    def moment(self, moment: datetime) -> str:
        """Medium date, short time (no seconds), joined the locale's way ("{1}, {0}")."""
        local = moment.astimezone(self._zone)
        day = format_date(local, format="medium", locale=self._locale)
        hour = format_time(local, format="short", locale=self._locale)
        pattern = str(self._locale.datetime_formats["medium"])
        return pattern.replace("{1}", str(day)).replace("{0}", str(hour))

    def day(self, moment: datetime) -> str:
        return str(format_date(moment.astimezone(self._zone), format="long", locale=self._locale))

    def percent(self, value: int) -> str:
        return str(format_percent(Decimal(value) / 100, locale=self._locale))

    def plural(self, n: int, **forms: str) -> str:
        """`{{ plural(3, one="item", other="items") }}` -> "3 items" (Russian, Polish: one/few/many)."""
        form = self._locale.plural_form(abs(n))
        return f"{n} {forms.get(form) or forms['other']}"


class Renderer:
    """Thread-safe: jinja environments are, and each render builds its own filters."""

    def __init__(self, templates_dir: Path | None = None) -> None:
        self._dir = templates_dir

    @cached_property
    def _environments(self) -> dict[bool, jinja2.Environment]:
        folder = self._dir or templates_path()
        loader = jinja2.FileSystemLoader(str(folder))
        return {
            escape: jinja2.Environment(
                loader=loader,
                undefined=jinja2.StrictUndefined,
                autoescape=escape,  # noqa: S701 - html escapes; subject, text and SMS are plain text
                trim_blocks=True,
                lstrip_blocks=True,
                keep_trailing_newline=False,
                auto_reload=False,
            )
            for escape in (True, False)
        }

    def render_email(self, kind: str, context: MessageContext) -> EmailContent:
        subject = " ".join(self._render(kind, "subject.txt", context).split())
        return EmailContent(
            subject=subject,
            html=self._render(kind, "html", context),
            text=self._render(kind, "txt", context).strip() + "\n",
        )

    def render_sms(self, kind: str, context: MessageContext) -> SmsContent:
        raw = self._render(kind, "sms.txt", context)
        body = "\n".join(" ".join(line.split()) for line in raw.strip().splitlines() if line.strip())
        encoding, segments = sms_segments(body)
        return SmsContent(body=body, encoding=encoding, segments=segments)

    def _render(self, kind: str, part: str, context: MessageContext) -> str:
        if kind not in KINDS:
            raise RenderError(f"unknown message kind {kind!r}")
        if context.locale not in LOCALES:
            raise RenderError(f"unknown locale {context.locale!r}")
        if kind == "delayed" and context.coupon is None:
            raise RenderError(f"{context.locale}/{kind}: the delayed message needs a coupon")
        name = f"{context.locale}/{kind}.{part}"
        formats = _Formats(context)
        variables: dict[str, Any] = {
            "order": context.order,
            "customer_name": context.order.customer.name,
            "shop": context.shop,
            "coupon": context.coupon,
            "locale": context.locale,
            "plural": formats.plural,
        }
        try:
            environment = self._environments[part == "html"]
            template = environment.get_template(name)
            return template.render(
                variables,
                money=formats.money,
                datetime=formats.moment,
                date=formats.day,
                percent=formats.percent,
            )
        except jinja2.TemplateNotFound as exc:
            raise RenderError(f"templates/{name}: missing ({exc})") from None
        except (jinja2.TemplateError, ValueError, LookupError, TypeError) as exc:
            raise RenderError(f"templates/{name}: {type(exc).__name__}: {exc}") from None
