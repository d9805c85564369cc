"""Every message in every language renders from real orders, formatted for the customer."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from shopflow.messaging.render import (
    KINDS,
    LOCALES,
    Coupon,
    MessageContext,
    Renderer,
    RenderError,
    Shop,
    sms_segments,
    templates_path,
)
from shopflow.orders.model import Order, Tracking
from shopflow.webhooks import shopify, woocommerce
from tests.support import corpus

RENDERER = Renderer()
SHOP = Shop("Demo Shop", url="https://demo-shop.example")
COUPON = Coupon("SORRY-7Q2X-K9PD", 15, datetime(2026, 12, 20, 23, 30, tzinfo=UTC))
TRACKING = (
    Tracking(number="1Z999AA10123456784", url="https://www.ups.com/track?tracknum=1Z999", carrier="UPS"),
)


def corpus_orders() -> dict[str, Order]:
    return {
        "shopify": shopify.normalize("orders/create", corpus("shopify/order.json")).order,  # type: ignore[union-attr]
        "shopify-multicurrency": shopify.normalize(  # type: ignore[union-attr]
            "orders/create", corpus("shopify/orders_create_multicurrency.json")
        ).order,
        "woocommerce": woocommerce.normalize(corpus("woocommerce/order.json")).order,
    }


ORDERS = corpus_orders()


def context(order: Order, locale: str, timezone: str = "Europe/Warsaw", **changes: object) -> MessageContext:
    ready = order.model_copy(update={"tracking": TRACKING, **changes})
    return MessageContext(order=ready, locale=locale, timezone=timezone, shop=SHOP, coupon=COUPON)


@pytest.mark.parametrize("source", sorted(ORDERS))
@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_in_every_locale_from_real_orders(kind: str, locale: str, source: str) -> None:
    ctx = context(ORDERS[source], locale)

    email = RENDERER.render_email(kind, ctx)
    sms = RENDERER.render_sms(kind, ctx)

    number = ctx.order.number
    for text in (email.subject, email.text, email.html, sms.body):
        assert number in text
        assert "{{" not in text and "{%" not in text and "None" not in text
    assert "\n" not in email.subject and email.subject == email.subject.strip()
    assert email.html.startswith("<!doctype html>") and f'<html lang="{locale}">' in email.html
    assert "Demo Shop" in email.text and "Demo Shop" in sms.body
    assert sms.segments <= 3


def plain(text: str) -> str:
    """Babel separates thousands and units with (narrow) no-break spaces: compare as spaces."""
    return text.replace("\xa0", " ").replace("\u202f", " ")


def test_money_is_formatted_for_the_locale_and_the_orders_currency() -> None:
    order = ORDERS["shopify"].model_copy(update={"currency": "PLN", "total": Decimal("1409.94")})

    assert "1 409,94 zł" in plain(RENDERER.render_email("paid", context(order, "pl")).text)
    assert (
        "$1,409.94"
        in RENDERER.render_email("paid", context(order.model_copy(update={"currency": "USD"}), "en")).text
    )
    ru = RENDERER.render_email("paid", context(order.model_copy(update={"currency": "RUB"}), "ru")).text
    assert "1 409,94 ₽" in plain(ru)


def test_dates_are_in_the_customers_time_zone() -> None:
    late_evening = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    order = ORDERS["shopify"].model_copy(update={"placed_at": late_evening})

    in_warsaw = RENDERER.render_email("confirmation", context(order, "en", "Europe/Warsaw")).text
    in_new_york = RENDERER.render_email("confirmation", context(order, "en", "America/New_York")).text

    assert "Nov 21, 2026, 12:30" in plain(in_warsaw)
    assert "Nov 20, 2026, 6:30" in plain(in_new_york)
    ru = RENDERER.render_email("delayed", context(order, "ru", "Asia/Vladivostok")).text
    assert "21 декабря 2026" in ru  # the code's last day, on the customer's calendar


@pytest.mark.parametrize(
    ("locale", "quantities", "expected"),
    [
        ("en", (1,), "1 item:"),
        ("en", (1, 2), "3 items:"),
        ("ru", (1,), "1 товар:"),
        ("ru", (1, 2), "3 товара:"),
        ("ru", (2, 3), "5 товаров:"),
        ("ru", (20, 1), "21 товар:"),
        ("pl", (1,), "1 produkt:"),
        ("pl", (1, 2), "3 produkty:"),
        ("pl", (2, 3), "5 produktów:"),
        ("pl", (20, 2), "22 produkty:"),
    ],
)
def test_item_counts_use_the_languages_plural_forms(
    locale: str, quantities: tuple[int, ...], expected: str
) -> None:
    base = ORDERS["shopify"]
    lines = tuple(base.lines[0].model_copy(update={"quantity": q}) for q in quantities)

    text = RENDERER.render_email("confirmation", context(base, locale, lines=lines)).text

    assert expected in text


def test_shipped_links_the_tracking_page_and_the_sms_carries_it() -> None:
    ctx = context(ORDERS["shopify"], "pl")

    email = RENDERER.render_email("shipped", ctx)
    sms = RENDERER.render_sms("shipped", ctx)

    assert '<a href="https://www.ups.com/track?tracknum=1Z999"' in email.html
    assert "UPS: numer przesyłki 1Z999AA10123456784" in email.text
    assert "https://www.ups.com/track?tracknum=1Z999" in sms.body


def test_shipped_without_tracking_says_it_is_on_its_way() -> None:
    ctx = context(ORDERS["shopify"], "en", tracking=())

    assert "It is on its way to you." in RENDERER.render_email("shipped", ctx).text


def test_the_delayed_message_carries_the_code_and_needs_one() -> None:
    ctx = context(ORDERS["shopify"], "ru")

    email = RENDERER.render_email("delayed", ctx)

    assert (
        "SORRY-7Q2X-K9PD" in email.html
        and "15%" in email.text
        and "SORRY-7Q2X-K9PD" in RENDERER.render_sms("delayed", ctx).body
    )
    no_coupon = MessageContext(order=ctx.order, locale="ru", timezone="UTC", shop=SHOP)
    with pytest.raises(RenderError, match="needs a coupon"):
        RENDERER.render_email("delayed", no_coupon)


def test_a_customer_name_is_escaped_in_html_and_plain_in_text() -> None:
    order = ORDERS["shopify"]
    hostile = order.model_copy(
        update={"customer": order.customer.model_copy(update={"name": "<script>x</script>"})}
    )

    email = RENDERER.render_email("paid", context(hostile, "en"))

    assert "<script>" not in email.html and "&lt;script&gt;x&lt;/script&gt;" in email.html
    assert "Hello <script>x</script>," in email.text


def test_a_template_naming_something_missing_fails_naming_the_file(tmp_path: Path) -> None:
    for path in templates_path().rglob("*"):
        if path.is_file():
            target = tmp_path / path.relative_to(templates_path())
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(path.read_text())
    (tmp_path / "en" / "paid.txt").write_text("Hello {{ order.numbr }}\n")

    with pytest.raises(RenderError, match=r"templates/en/paid.txt: UndefinedError: .*numbr"):
        Renderer(tmp_path).render_email("paid", context(ORDERS["shopify"], "en"))


def test_unknown_kind_or_locale_is_refused() -> None:
    with pytest.raises(RenderError, match="unknown message kind 'review'"):
        RENDERER.render_email("review", context(ORDERS["shopify"], "en"))
    with pytest.raises(RenderError, match="unknown locale 'de'"):
        RENDERER.render_sms("paid", context(ORDERS["shopify"], "de"))


def test_the_templates_folder_holds_exactly_every_kind_in_every_locale() -> None:
    root = templates_path()
    found = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    expected = {
        f"{locale}/{kind}.{part}"
        for locale in LOCALES
        for kind in KINDS
        for part in ("subject.txt", "html", "txt", "sms.txt")
    }
    assert found == expected | {"_layout.html", "_parts.html"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a" * 160, ("GSM-7", 1)),
        ("a" * 161, ("GSM-7", 2)),
        ("a" * 306, ("GSM-7", 2)),
        ("a" * 307, ("GSM-7", 3)),
        ("€" * 80, ("GSM-7", 1)),  # an extension character takes two septets
        ("€" * 81, ("GSM-7", 2)),
        ("a" * 159 + "ж", ("UCS-2", 3)),
        ("ж" * 70, ("UCS-2", 1)),
        ("ж" * 71, ("UCS-2", 2)),
        ("ż" * 134, ("UCS-2", 2)),
        ("ż" * 135, ("UCS-2", 3)),
        ("", ("GSM-7", 1)),
    ],
)
def test_sms_segments_follow_gsm7_and_ucs2(text: str, expected: tuple[str, int]) -> None:
    assert sms_segments(text) == expected
