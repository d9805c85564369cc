"""Messages from `templates/`: email (subject, html, text) and SMS, per kind and locale.

jinja2 with `StrictUndefined`, so a template that names something missing fails loudly instead
of sending a blank; money, dates and plurals are Babel's (`formats.py`), for the customer's
locale and time zone. Pure: no I/O beyond reading the templates.

    renderer = Renderer()  # one per process
    context = MessageContext(order, "pl", "Europe/Warsaw", Shop("Demo Shop"))
    email = renderer.render_email("paid", context)  # subject, html, text
    sms = renderer.render_sms("shipped", context)  # body, and encoding and segments: what it costs
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from babel.core import UnknownLocaleError
from babel.numbers import UnknownCurrencyError

from shopflow.capabilities import message_kinds
from shopflow.carts.model import Cart
from shopflow.messaging.formats import Formats
from shopflow.messaging.locales import SUPPORTED_LOCALES, resolve_locale
from shopflow.orders.model import Order

LOCALES: tuple[str, ...] = SUPPORTED_LOCALES
_KINDS = {kind.name: kind for kind in message_kinds()}  # every capability's
KINDS: tuple[str, ...] = tuple(_KINDS)
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
    name: str | None  # None: the owner set none; messages then name no shop (no "Our shop")
    url: str | None = None  # the shop's home page, in footers when set
    support_email: str | None = None  # in footers when set


@dataclass(frozen=True)
class Coupon:
    code: str
    percent: int
    valid_until: datetime  # aware, UTC


@dataclass(frozen=True)
class MessageContext:
    # Templates see an order as `order`, a cart as `cart`, and every subject as `subject`
    # (another flow's own subject: the owner's oversell notice, stock/flow.py).
    subject: Order | Cart | Any
    locale: str  # one of LOCALES, already resolved
    timezone: str  # IANA, e.g. "Europe/Warsaw"
    shop: Shop
    coupon: Coupon | None = None  # required by kinds that declare needs_coupon
    # (product, its review page or its page in the shop): required by kinds that declare needs_links
    product_links: tuple[tuple[str, str], ...] = ()
    unsubscribe_url: str | None = None  # required by marketing email


@dataclass(frozen=True)
class EmailContent:
    subject: str  # one line, stripped
    html: str
    text: str


@dataclass(frozen=True)
class SmsContent:
    body: str
    encoding: str  # "GSM-7" | "UCS-2"
    segments: int


# GSM 03.38: the basic set (1 septet) and the extension table (escape + char: 2 septets).
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


def sms_segments(text: str) -> tuple[str, int]:
    """(encoding, segments), which is what an SMS costs: GSM-7 when every character is in the
    basic set or the extension table (2 septets each), 160 septets in one segment, 153 a part
    once split (the rest carries the concatenation header); otherwise UCS-2, 70 UTF-16 units in
    one, 67 a part. The empty text still takes one segment."""
    if all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in text):
        septets = sum(2 if c in _GSM_EXTENDED else 1 for c in text)
        return "GSM-7", 1 if septets <= 160 else -(-septets // 153)
    units = len(text.encode("utf-16-le")) // 2  # a character outside the BMP is two units
    return "UCS-2", 1 if units <= 70 else -(-units // 67)


def templates_path() -> Path:
    """Where the templates are: $SHOPFLOW_TEMPLATES_DIR when set, else the checkout's templates/
    (this file is functions/shopflow/messaging/render.py), else /opt, where the templates layer
    of template.yaml puts them in a Lambda function."""
    configured = os.environ.get("SHOPFLOW_TEMPLATES_DIR")
    if configured:
        if not (Path(configured) / "_layout.html").is_file():
            # A folder named on purpose but wrong is an error, not a cue to use another one.
            raise RenderError(f"SHOPFLOW_TEMPLATES_DIR={configured}: no _layout.html there")
        return Path(configured)
    candidates = [Path(__file__).resolve().parents[3] / "templates", Path("/opt")]
    for candidate in candidates:
        if (candidate / "_layout.html").is_file():
            return candidate
    raise RenderError(
        f"no templates folder: set SHOPFLOW_TEMPLATES_DIR (none of {', '.join(map(str, candidates))}"
        " has _layout.html)"
    )


def _formats(context: jinja2.runtime.Context) -> Formats:
    formats: Formats = context["_formats"]
    return formats


# `{{ order.placed_at | datetime }}`, `{{ coupon.valid_until | date }}`, `{{ coupon.percent | percent }}`.
# Filters are registered once per environment, so they find the message's Formats in the context;
# `money(amount)` and `plural(n, one=..., other=...)` are per-message functions instead.
@jinja2.pass_context
def _datetime_filter(context: jinja2.runtime.Context, moment: datetime) -> str:
    return _formats(context).moment(moment)


@jinja2.pass_context
def _date_filter(context: jinja2.runtime.Context, moment: datetime) -> str:
    return _formats(context).day(moment)


@jinja2.pass_context
def _percent_filter(context: jinja2.runtime.Context, value: Any) -> str:
    return _formats(context).percent(value)


_FILTERS = {
    "datetime": _datetime_filter,
    "date": _date_filter,
    "percent": _percent_filter,
}

# What can go wrong inside a render besides jinja's own errors: Babel's (unknown locale or
# currency, a bad number), an unknown time zone (ZoneInfoNotFoundError is a KeyError), a value of
# the wrong type, and a missing plural form.
_RENDER_FAILURES = (
    jinja2.TemplateError,
    UnknownLocaleError,
    UnknownCurrencyError,
    ArithmeticError,
    LookupError,
    TypeError,
    ValueError,
)


class Renderer:
    """Renders messages; one per process, safe to share between threads.

    One jinja environment per autoescape mode, built here: html escapes everything it prints,
    subject, text and SMS are plain text and must not show "&amp;". jinja compiles each template
    once and caches it (its cache is locked); each render gets its own `Formats`, so renders
    share nothing mutable.

        templates/<locale>/<kind>.subject.txt, <kind>.html (extends _layout.html), <kind>.txt,
        <kind>.sms.txt
    """

    def __init__(self, templates_dir: Path | None = None) -> None:
        folder = templates_dir if templates_dir is not None else templates_path()
        self.templates_dir = folder.resolve()  # absolute: error messages find files in it
        loader = jinja2.FileSystemLoader(str(self.templates_dir))
        self._environments = {escape: self._environment(loader, escape) for escape in (True, False)}

    @staticmethod
    def _environment(loader: jinja2.BaseLoader, autoescape: bool) -> jinja2.Environment:
        environment = jinja2.Environment(
            loader=loader,
            undefined=jinja2.StrictUndefined,
            autoescape=autoescape,  # noqa: S701 - on for .html; subject, text and SMS are plain text
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,  # templates change only with a deployment
            cache_size=-1,  # 7 kinds x 3 locales x 4 parts + the layout: keep them all
        )
        environment.filters.update(_FILTERS)
        return environment

    def render_email(self, kind: str, context: MessageContext) -> EmailContent:
        subject = " ".join(self._render(kind, "subject.txt", context).split())
        return EmailContent(
            subject=subject,
            html=self._render(kind, "html", context),
            text=self._render(kind, "txt", context).strip() + "\n",
        )

    def render_sms(self, kind: str, context: MessageContext) -> SmsContent:
        """Whitespace runs become one space and blank lines go: every character is paid for.
        That includes Babel's no-break spaces ("409,94 zł"), which GSM-7 cannot carry."""
        raw = self._render(kind, "sms.txt", context)
        body = "\n".join(" ".join(line.split()) for line in raw.splitlines() if line.strip())
        encoding, segments = sms_segments(body)
        return SmsContent(body=body, encoding=encoding, segments=segments)

    def _render(self, kind: str, part: str, context: MessageContext) -> str:
        if kind not in KINDS:
            raise RenderError(f"unknown message kind {kind!r} (one of {', '.join(KINDS)})")
        if context.locale not in LOCALES:
            raise RenderError(f"unknown locale {context.locale!r} (one of {', '.join(LOCALES)})")
        name = f"{context.locale}/{kind}.{part}"
        if _KINDS[kind].needs_coupon and context.coupon is None:
            raise RenderError(f"templates/{name}: the {kind} message needs a coupon")
        subject = context.subject
        if subject.currency is None:
            raise RenderError(f"templates/{name}: {subject.subject_id} has no currency")
        if _KINDS[kind].needs_links and not context.product_links:
            raise RenderError(f"templates/{name}: the {kind} message needs its products")
        try:
            formats = Formats(context.locale, context.timezone, subject.currency)
            template = self._environments[part == "html"].get_template(name)
            return template.render(
                order=subject if isinstance(subject, Order) else None,
                cart=subject if isinstance(subject, Cart) else None,
                subject=subject,  # any other flow's subject (an oversell notice) as it is
                customer_name=subject.customer.name,
                shop=context.shop,
                coupon=context.coupon,
                product_links=context.product_links,
                unsubscribe_url=context.unsubscribe_url,
                locale=context.locale,
                money=formats.money,
                plural=formats.plural,
                _formats=formats,
            )
        except jinja2.TemplateNotFound as exc:
            raise RenderError(f"templates/{name}: missing ({exc} not in {self.templates_dir})") from None
        except jinja2.TemplateSyntaxError as exc:
            where = f"templates/{exc.name or name}, line {exc.lineno}"
            raise RenderError(f"{where}: TemplateSyntaxError: {exc.message}") from None
        except _RENDER_FAILURES as exc:
            raise RenderError(f"{self._where(exc, name)}: {type(exc).__name__}: {exc}") from None

    def _where(self, exc: BaseException, name: str) -> str:
        """The template file and line that failed: jinja rewrites the traceback so its frames are
        the templates' own, which finds the line even inside _layout.html or a macro."""
        where = f"templates/{name}"
        traceback = exc.__traceback__
        while traceback is not None:
            filename = Path(traceback.tb_frame.f_code.co_filename)
            if filename.is_relative_to(self.templates_dir):
                relative = filename.relative_to(self.templates_dir).as_posix()
                where = f"templates/{relative}, line {traceback.tb_lineno}"
            traceback = traceback.tb_next
        return where
