"""Money, dates, percentages and plurals the way the customer's language writes them.

Everything goes through Babel (CLDR data), never hand-written patterns: "$409.94", "PLN 409.94", "409,94 zł",
"409,94 ₽"; "21 grudnia 2026"; "3 товара" but "5 товаров". One `Formats` serves one message
(locale, time zone, order currency); the templates reach it through the functions and filters
the renderer registers.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_percent, get_currency_symbol

# Our locale ids are Babel's: "en" (CLDR's en is US English), "ru", "pl".


def _currency_spaced(text: str, symbol: str) -> str:
    """CLDR's currencySpacing, which Babel does not apply: a no-break space between a currency
    symbol that ends (or starts) with a letter and the digit beside it, so English writes
    "PLN 1,723.00" and "CHF 5.00" but still "$5.00" and "A$5.00" (CLDR root data: currencyMatch
    [[:^S:]&[:^Z:]], surroundingMatch [:digit:], insertBetween U+00A0; en, ru and pl keep it)."""
    at = text.find(symbol)
    if at < 0 or not symbol:
        return text
    end = at + len(symbol)
    if end < len(text) and text[end].isdigit() and _letterlike(symbol[-1]):
        return f"{text[:end]}\xa0{text[end:]}"
    if at > 0 and text[at - 1].isdigit() and _letterlike(symbol[0]):
        return f"{text[:at]}\xa0{text[at:]}"
    return text


def _letterlike(char: str) -> bool:
    """Neither a symbol (S*: $ € ₽) nor a separator (Z*): a letter, as in PLN, or a dot."""
    return unicodedata.category(char)[0] not in "SZ"


@lru_cache(maxsize=32)
def _locale(locale: str) -> Locale:
    """Parsing a locale loads its CLDR data: once per process, not once per message."""
    return Locale.parse(locale)


class Formats:
    """The Babel-backed formatting of one message: its locale, time zone and currency."""

    def __init__(self, locale: str, timezone: str, currency: str) -> None:
        self.locale = _locale(locale)  # babel.UnknownLocaleError for an unknown id
        self.zone = ZoneInfo(timezone)  # ZoneInfoNotFoundError for an unknown name
        self.currency = currency

    def money(self, amount: Decimal | int, currency: str | None = None) -> str:
        """The amount in the order's currency unless another is named: "$1,723.00", "PLN 1,723.00",
        "1 723,00 zł"."""
        code = currency or self.currency
        text = str(format_currency(Decimal(amount), code, locale=self.locale))
        return _currency_spaced(text, str(get_currency_symbol(code, locale=self.locale)))

    def local(self, moment: datetime) -> datetime:
        """The moment on the customer's clock. Stored times are UTC; a naive one is read as UTC."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(self.zone)

    def moment(self, moment: datetime) -> str:
        """Medium date and short time (seconds are noise in a message), joined the locale's way."""
        local = self.local(moment)
        day = str(format_date(local, format="medium", locale=self.locale))
        hour = str(format_time(local, format="short", locale=self.locale))
        pattern = str(self.locale.datetime_formats["medium"])  # "{1}, {0}": date, time
        return pattern.replace("{1}", day).replace("{0}", hour)

    def day(self, moment: datetime) -> str:
        """The long date on the customer's calendar: "December 21, 2026", "21 grudnia 2026"."""
        return str(format_date(self.local(moment), format="long", locale=self.locale))

    def percent(self, value: int | Decimal) -> str:
        """A whole percentage (15 -> "15%", Russian "15 %")."""
        return str(format_percent(Decimal(value) / 100, locale=self.locale))

    def plural(self, n: int, **forms: str) -> str:
        """`plural(3, one="item", other="items")` -> "3 items"; Russian and Polish also take
        `few` and `many`. A form the call does not give falls back to `other`."""
        form = self.locale.plural_form(abs(n))
        chosen = forms.get(form) or forms.get("other")
        if chosen is None:
            raise ValueError(f"plural({n}) needs the {form!r} or 'other' form")
        return f"{n} {chosen}"
