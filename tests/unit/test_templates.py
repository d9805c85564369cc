"""Every message in every language renders from real orders, formatted for the customer."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from shopflow.capabilities import message_kinds
from shopflow.carts.capability import KINDS as CART_MESSAGE_KINDS
from shopflow.carts.model import Cart
from shopflow.channels.capability import MESSAGE_KINDS as CHANNEL_MESSAGE_KINDS
from shopflow.messaging.render import (
    KINDS,
    LOCALES,
    Coupon,
    MessageContext,
    Renderer,
    RenderError,
    Shop,
    resolve_locale,
    sms_segments,
    templates_path,
)
from shopflow.orders.model import Order, Tracking
from shopflow.orders.pages import product_links
from shopflow.pricing.capability import MESSAGE_KINDS as PRICING_MESSAGE_KINDS
from shopflow.stock.capability import KINDS as STOCK_MESSAGE_KINDS
from shopflow.webhooks import shopify, woocommerce
from tests.support import corpus
from tests.unit.test_back_in_stock import alert_subscription
from tests.unit.test_channel_alerts import alert_notice
from tests.unit.test_oversell import oversell_notice
from tests.unit.test_price_digest import notice as digest_notice

CART_KINDS = tuple(kind.name for kind in CART_MESSAGE_KINDS)
STOCK_KINDS = tuple(kind.name for kind in STOCK_MESSAGE_KINDS)  # to the owner: tests/unit/test_oversell.py
CHANNEL_KINDS = tuple(kind.name for kind in CHANNEL_MESSAGE_KINDS)  # to the owner: test_channel_alerts.py
PRICING_KINDS = tuple(kind.name for kind in PRICING_MESSAGE_KINDS)  # to the owner: test_price_digest.py
OWNER_KINDS = STOCK_KINDS + CHANNEL_KINDS + PRICING_KINDS
BACK_IN_STOCK_KINDS = ("back_in_stock",)  # about a subscription: tests/unit/test_back_in_stock.py
ORDER_KINDS = tuple(
    kind.name for kind in message_kinds() if kind.name not in CART_KINDS + OWNER_KINDS + BACK_IN_STOCK_KINDS
)

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


REVIEW_PAGE = "https://demo-shop.example/products/{product_id}#reviews"
UNSUBSCRIBE = "https://api.example/prod/unsubscribe/tok.sig"


def context(order: Order, locale: str, timezone: str = "Europe/Warsaw", **changes: object) -> MessageContext:
    ready = order.model_copy(update={"tracking": TRACKING, **changes})
    return MessageContext(
        subject=ready,
        locale=locale,
        timezone=timezone,
        shop=SHOP,
        coupon=COUPON,
        product_links=product_links(ready, REVIEW_PAGE),
        unsubscribe_url=UNSUBSCRIBE,
    )


@pytest.mark.parametrize("source", sorted(ORDERS))
@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", ORDER_KINDS)
def test_every_kind_renders_in_every_locale_from_real_orders(kind: str, locale: str, source: str) -> None:
    ctx = context(ORDERS[source], locale)

    email = RENDERER.render_email(kind, ctx)
    sms = RENDERER.render_sms(kind, ctx)

    number = ORDERS[source].number
    for text in (email.subject, email.text, email.html, sms.body):
        assert number in text
        assert "{{" not in text and "{%" not in text and "None" not in text
    assert "\n" not in email.subject and email.subject == email.subject.strip()
    assert email.html.startswith("<!doctype html>") and f'<html lang="{locale}">' in email.html
    assert unclosed_tags(email.html) == []
    assert "Demo Shop" in email.text and "Demo Shop" in sms.body
    assert "  " not in sms.body and "\xa0" not in sms.body and "\u202f" not in sms.body
    assert (sms.encoding, sms.segments) == sms_segments(sms.body) and sms.segments <= 3
    if locale == "en":  # English fits the cheap alphabet; Polish letters and Cyrillic cannot
        assert sms.encoding == "GSM-7"


class _Tags(HTMLParser):
    VOID = frozenset({"meta", "br", "img", "hr", "link", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()


def unclosed_tags(html: str) -> list[str]:
    parser = _Tags()
    parser.feed(html)
    parser.close()
    return parser.open


def plain(text: str) -> str:
    """Babel separates thousands and units with (narrow) no-break spaces: compare as spaces."""
    return text.replace("\xa0", " ").replace("\u202f", " ")


def test_money_is_formatted_for_the_locale_and_the_orders_currency() -> None:
    order = ORDERS["shopify"].model_copy(update={"currency": "PLN", "total": Decimal("1409.94")})

    assert "1 409,94 zł" in plain(RENDERER.render_email("paid", context(order, "pl")).text)
    corpus_total = ORDERS["shopify"].model_copy(update={"currency": "PLN"})  # 409.94 as the store sent it
    assert "409,94 zł" in plain(RENDERER.render_sms("paid", context(corpus_total, "pl")).body)
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
        and "15 %" in plain(email.text)  # Russian puts a (no-break) space before the sign
        and "SORRY-7Q2X-K9PD" in RENDERER.render_sms("delayed", ctx).body
    )
    no_coupon = MessageContext(subject=ctx.subject, locale="ru", timezone="UTC", shop=SHOP)
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
    tmp_path = copy_of_the_templates(tmp_path)
    (tmp_path / "en" / "paid.txt").write_text("Hello {{ order.numbr }}\n")

    with pytest.raises(RenderError, match=r"templates/en/paid.txt, line 1: UndefinedError: .*numbr"):
        Renderer(tmp_path).render_email("paid", context(ORDERS["shopify"], "en"))


def test_unknown_kind_or_locale_is_refused() -> None:
    with pytest.raises(RenderError, match="unknown message kind 'cart'"):
        RENDERER.render_email("cart", context(ORDERS["shopify"], "en"))
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


def copy_of_the_templates(tmp_path: Path) -> Path:
    return Path(shutil.copytree(templates_path(), tmp_path / "templates"))


def test_a_failure_inside_the_layout_names_the_layout(tmp_path: Path) -> None:
    root = copy_of_the_templates(tmp_path)
    layout = root / "_layout.html"
    layout.write_text(layout.read_text().replace("{{ shop.name }}", "{{ shop.title }}", 1))

    with pytest.raises(RenderError, match=r"templates/_layout.html, line \d+: UndefinedError: .*title"):
        Renderer(root).render_email("delivered", context(ORDERS["shopify"], "pl"))


def test_a_syntax_error_or_a_missing_file_names_the_file(tmp_path: Path) -> None:
    root = copy_of_the_templates(tmp_path)
    (root / "ru" / "paid.sms.txt").write_text("{{ shop.name }}\n{% if order.number %}оплачено\n")
    (root / "pl" / "refunded.html").unlink()

    with pytest.raises(RenderError, match=r"templates/ru/paid.sms.txt, line \d: TemplateSyntaxError"):
        Renderer(root).render_sms("paid", context(ORDERS["shopify"], "ru"))
    with pytest.raises(RenderError, match=r"templates/pl/refunded.html: missing"):
        Renderer(root).render_email("refunded", context(ORDERS["shopify"], "pl"))


def test_an_unknown_time_zone_is_a_render_error_not_a_crash() -> None:
    with pytest.raises(RenderError, match=r"templates/en/confirmation.subject.txt: ZoneInfoNotFoundError"):
        RENDERER.render_email("confirmation", context(ORDERS["shopify"], "en", "Mars/Olympus_Mons"))


def test_templates_path_honours_the_environment_and_refuses_a_wrong_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = copy_of_the_templates(tmp_path)
    monkeypatch.setenv("SHOPFLOW_TEMPLATES_DIR", str(root))
    assert templates_path() == root
    assert Renderer().templates_dir == root.resolve()

    monkeypatch.setenv("SHOPFLOW_TEMPLATES_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(RenderError, match=r"SHOPFLOW_TEMPLATES_DIR=.*nowhere: no _layout.html"):
        templates_path()

    monkeypatch.delenv("SHOPFLOW_TEMPLATES_DIR")
    assert templates_path() == Path(__file__).resolve().parents[2] / "templates"


TIMES = "\N{MULTIPLICATION SIGN}"


def test_each_line_shows_its_quantity_and_unit_price() -> None:
    order = ORDERS["woocommerce"]  # 2 x Woo Single #1 at 3.00, and one line at 12.00

    text = RENDERER.render_email("confirmation", context(order, "en")).text
    html = RENDERER.render_email("confirmation", context(order, "en")).html

    assert f"\n- Woo Single #1: 2 {TIMES} $3.00 = $6.00\n" in text
    assert f"M Test: 1 {TIMES} $12.00\n" in text
    assert "\nTotal: $29.35\n" in text
    assert "2 &times; $3.00" in html and "$6.00" in html


@pytest.mark.parametrize(
    ("locale", "greeting"), [("en", "Hello,"), ("ru", "Здравствуйте!"), ("pl", "Dzień dobry!")]
)
def test_a_customer_without_a_name_gets_a_neutral_greeting(locale: str, greeting: str) -> None:
    order = ORDERS["shopify"]
    anonymous = order.model_copy(update={"customer": order.customer.model_copy(update={"name": None})})

    email = RENDERER.render_email("delivered", context(anonymous, locale))

    assert email.text.startswith(greeting + "\n")
    assert f"<p>{greeting}</p>" in email.html


@pytest.mark.parametrize(
    ("locale", "currency", "amount"),
    [("en", "USD", "$120.50"), ("ru", "RUB", "120,50 ₽"), ("pl", "PLN", "120,50 zł")],
)
def test_refunds_name_the_amount_and_a_cancellation_mentions_one_only_when_there_is_one(
    locale: str, currency: str, amount: str
) -> None:
    refunded = context(ORDERS["shopify"], locale, currency=currency, refunded_total=Decimal("120.50"))
    unpaid = context(ORDERS["shopify"], locale, currency=currency)

    assert amount in plain(RENDERER.render_email("refunded", refunded).text)
    assert amount in plain(RENDERER.render_sms("refunded", refunded).body)
    assert amount in plain(RENDERER.render_email("cancelled", refunded).html)
    assert amount in plain(RENDERER.render_sms("cancelled", refunded).body)
    cancelled = RENDERER.render_email("cancelled", unpaid).text
    assert "120,50" not in cancelled and "0,00" not in cancelled and "$0.00" not in cancelled


UPS_LINK = "https://www.ups.com/track?tracknum=1Z999&loc=pl"


def test_every_parcel_is_listed_and_one_without_a_link_shows_its_number() -> None:
    parcels = (
        Tracking(number="1Z999AA10123456784", url=UPS_LINK, carrier="UPS"),
        Tracking(number="00340434161094042557"),
    )
    ctx = context(ORDERS["shopify"], "en", tracking=parcels)

    email = RENDERER.render_email("shipped", ctx)
    sms = RENDERER.render_sms("shipped", ctx)

    assert '<a href="https://www.ups.com/track?tracknum=1Z999&amp;loc=pl"' in email.html
    assert f"Track your parcel: {UPS_LINK}\n" in email.text
    assert "Carrier: tracking number 00340434161094042557" in email.text
    assert "00340434161094042557" in email.html
    assert UPS_LINK in sms.body and "00340434161094042557" in sms.body


@pytest.mark.parametrize(("locale", "percent"), [("en", "15%"), ("ru", "15 %"), ("pl", "15%")])
def test_the_discount_is_a_percentage_written_the_languages_way(locale: str, percent: str) -> None:
    ctx = context(ORDERS["shopify"], locale)

    assert percent in plain(RENDERER.render_email("delayed", ctx).text)
    assert percent in RENDERER.render_sms("delayed", ctx).body  # no-break spaces become spaces in SMS


def test_the_footer_carries_the_shops_address_and_support_email() -> None:
    shop = Shop("Demo & Co", url="https://demo-shop.example", support_email="help@demo-shop.example")
    ctx = MessageContext(subject=ORDERS["shopify"], locale="pl", timezone="Europe/Warsaw", shop=shop)

    email = RENDERER.render_email("paid", ctx)

    assert '<a href="mailto:help@demo-shop.example"' in email.html and "Demo &amp; Co" in email.html
    assert email.text.endswith("Demo & Co\nhttps://demo-shop.example\nhelp@demo-shop.example\n")


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ("pl-PL", ("pl", None)),
        ("ru_RU", ("ru", None)),
        ("EN", ("en", None)),
        ("en-GB", ("en", None)),
        (None, ("pl", "no locale; used pl")),
        ("", ("pl", "no locale; used pl")),
        ("de-DE", ("pl", "unknown locale de-DE; used pl")),
    ],
)
def test_resolve_locale(requested: str | None, expected: tuple[str, str | None]) -> None:
    assert resolve_locale(requested, "pl") == expected


def test_resolve_locale_refuses_a_fallback_it_cannot_render() -> None:
    with pytest.raises(ValueError, match="fallback locale 'de'"):
        resolve_locale("pl", "de")


def test_one_renderer_serves_many_threads_with_the_same_results() -> None:
    renderer = Renderer()
    jobs = [
        (kind, context(ORDERS[source], locale, timezone))
        for kind in ORDER_KINDS
        for locale in LOCALES
        for source in ORDERS
        for timezone in ("Europe/Warsaw", "Asia/Vladivostok")
    ]

    def both(job: tuple[str, MessageContext]) -> tuple[object, object]:
        kind, ctx = job
        return renderer.render_email(kind, ctx), renderer.render_sms(kind, ctx)

    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(both, jobs * 3))

    assert concurrent == [both(job) for job in jobs] * 3


@pytest.mark.parametrize("locale", LOCALES)
def test_a_review_request_links_each_product_once_and_can_be_unsubscribed_from(locale: str) -> None:
    order = ORDERS["woocommerce"]
    ctx = context(order, locale)

    email = RENDERER.render_email("review", ctx)
    sms = RENDERER.render_sms("review", ctx)

    pages = [url for _, url in ctx.product_links]
    assert pages and len(pages) == len(set(pages))
    assert all(f'<a href="{url}"' in email.html.replace("&amp;", "&") for url in pages)
    assert all(url in email.text for url in pages)
    assert f'href="{UNSUBSCRIBE}"' in email.html and UNSUBSCRIBE in email.text
    assert pages[0] in sms.body


def test_product_links_skip_lines_without_the_id_the_page_needs() -> None:
    order = ORDERS["shopify"]
    no_sku = order.model_copy(
        update={"lines": tuple(line.model_copy(update={"sku": None}) for line in order.lines)}
    )

    assert product_links(no_sku, "https://shop.example/p/{sku}") == ()
    assert product_links(order, "https://shop.example/p/{sku}") == tuple(
        (line.name, f"https://shop.example/p/{line.sku}") for line in order.lines
    )
    with pytest.raises(RenderError, match="review message needs its products"):
        RENDERER.render_email("review", MessageContext(subject=order, locale="en", timezone="UTC", shop=SHOP))


def corpus_cart() -> Cart:
    change = shopify.normalize_checkout(
        "checkouts/update", corpus("shopify/abandoned_checkout.json"), datetime(2026, 11, 20, tzinfo=UTC)
    )
    return change.cart  # type: ignore[union-attr]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", CART_KINDS)
def test_cart_reminders_render_in_every_locale_from_a_real_checkout(kind: str, locale: str) -> None:
    cart = corpus_cart()
    offer = kind == "cart_offer"
    ctx = MessageContext(
        subject=cart,
        locale=locale,
        timezone="Europe/Warsaw",
        shop=SHOP,
        coupon=COUPON if offer else None,
        unsubscribe_url=UNSUBSCRIBE,
    )

    email = RENDERER.render_email(kind, ctx)
    sms = RENDERER.render_sms(kind, ctx)

    back = "https://checkout.local/orders/690933842/2a1ace52255252df566af0faaedfbfa7?recovered=1"
    assert cart.recovery_url == back
    for text in (email.html, email.text, sms.body):
        assert back in text
        assert (COUPON.code in text) is offer
    for text in (email.html, email.text):
        assert "IPod Nano - 8GB" in text and "409" in text and UNSUBSCRIBE in text
    assert "Bob Norman" in email.text
    assert sms.segments <= 3


def test_a_cart_offer_without_its_code_is_refused() -> None:
    ctx = MessageContext(
        subject=corpus_cart(), locale="en", timezone="UTC", shop=SHOP, unsubscribe_url=UNSUBSCRIBE
    )
    with pytest.raises(RenderError, match="cart_offer message needs a coupon"):
        RENDERER.render_email("cart_offer", ctx)


# --- money in a currency written with letters; a shop without a name ---------------------------------


@pytest.mark.parametrize(
    ("locale", "currency", "expected"),
    [
        ("en", "PLN", "PLN\xa01,723.00"),  # CLDR: a no-break space between a letter code and digits
        ("en", "CHF", "CHF\xa01,723.00"),
        ("en", "USD", "$1,723.00"),  # a symbol stays next to the amount
        ("en", "AUD", "A$1,723.00"),
        ("pl", "PLN", "1\xa0723,00\xa0zł"),
        ("pl", "USD", "1\xa0723,00\xa0USD"),
        ("ru", "PLN", "1\xa0723,00\xa0PLN"),
        ("ru", "RUB", "1\xa0723,00\xa0₽"),
    ],
)
def test_money_keeps_the_locales_space_between_a_currency_code_and_the_amount(
    locale: str, currency: str, expected: str
) -> None:
    order = ORDERS["shopify"].model_copy(update={"currency": currency, "total": Decimal("1723.00")})

    email = RENDERER.render_email("paid", context(order, locale))
    sms = RENDERER.render_sms("paid", context(order, locale))

    assert expected in email.text and expected in email.html
    assert expected.replace("\xa0", " ") in sms.body  # an SMS carries plain spaces


NAMELESS = Shop(None)


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", KINDS)
def test_a_shop_without_a_name_is_not_named_in_any_message(kind: str, locale: str) -> None:
    subject = (
        corpus_cart() if kind in CART_KINDS else ORDERS["shopify"].model_copy(update={"tracking": TRACKING})
    )
    if kind in STOCK_KINDS:
        subject = oversell_notice(locale)
    if kind in CHANNEL_KINDS:
        subject = alert_notice(locale=locale)
    if kind in PRICING_KINDS:
        subject = digest_notice(locale)
    links = product_links(subject, REVIEW_PAGE) if isinstance(subject, Order) else ()
    if kind in BACK_IN_STOCK_KINDS:
        subject, links = alert_subscription(locale), (("MUG-01", "https://demo-shop.example/mug"),)
    ctx = MessageContext(
        subject=subject,
        locale=locale,
        timezone="Europe/Warsaw",
        shop=NAMELESS,
        coupon=COUPON,
        product_links=links,
        unsubscribe_url=UNSUBSCRIBE,
    )

    email = RENDERER.render_email(kind, ctx)
    sms = RENDERER.render_sms(kind, ctx)

    for text in (email.subject, email.text, email.html, sms.body):
        assert "None" not in text and "Our shop" not in text and "{{" not in text
        assert " ." not in text and " ," not in text  # no hole where a name was
        assert all("  " not in line.strip() for line in text.splitlines())
    assert not email.subject.endswith(("\N{EN DASH}", " ")) and "\N{EN DASH} " not in email.subject
    assert sms.body[0].isupper() or sms.body[0].isdigit(), sms.body  # starts as a sentence, no ": "
    assert not sms.body.startswith(":")
    assert 'border-top:1px solid #e4e4e7;font-size:13px;color:#71717a;"></p>' not in email.html
    assert unclosed_tags(email.html) == []


def test_a_named_shop_signs_the_sms_and_a_nameless_one_says_us() -> None:
    order = ORDERS["shopify"]
    named = RENDERER.render_sms("shipped", context(order, "pl")).body
    nameless = RENDERER.render_sms("shipped", MessageContext(order, "pl", "Europe/Warsaw", NAMELESS)).body
    english = RENDERER.render_email("paid", MessageContext(order, "en", "UTC", NAMELESS)).text

    assert named.startswith("Demo Shop: zamówienie #1001 zostało wysłane.")
    assert nameless.startswith("Zamówienie #1001 zostało wysłane.")
    assert "Thank you for shopping with us." in english


def test_a_woocommerce_float_unit_price_shows_rounded_with_the_exact_line_total() -> None:
    # 300 items for 100.00: WooCommerce's price 0.3333333333333333 is kept as 0.3333 (x 300 = 99.99).
    payload = corpus("woocommerce/order.json")
    payload["line_items"][0].update({"quantity": 300, "total": "100.00", "price": 100 / 300})
    order = woocommerce.normalize(payload).order

    email = RENDERER.render_email("confirmation", context(order, "en"))

    assert f"\n- Woo Single #1: 300 {TIMES} $0.33 = $100.00\n" in email.text
    assert "300 &times; $0.33" in email.html and "$100.00" in email.html and "$99.99" not in email.html


def test_an_html_entity_in_a_woocommerce_name_shows_as_its_character() -> None:
    email = RENDERER.render_email("confirmation", context(ORDERS["woocommerce"], "en"))

    assert "- Ship Your Idea \N{EN DASH} Color: Black, Size: M Test: 1" in email.text
    assert "Ship Your Idea \N{EN DASH} Color: Black" in email.html
    assert "&amp;ndash;" not in email.html and "&ndash;" not in email.text
