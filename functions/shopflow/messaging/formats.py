"""Money, dates, percentages and plurals the way the customer's language writes them.

Everything goes through Babel (CLDR data), never hand-written patterns: "$409.94", "409,94 zł",
"409,94 ₽"; "21 grudnia 2026"; "3 товара" but "5 товаров". One `Formats` serves one message
(locale, time zone, order currency); the templates reach it through the functions and filters
the renderer registers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_percent

# Our locale ids are Babel's: "en" (CLDR's en is US English), "ru", "pl".


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
        """The amount in the order's currency unless another is named."""
        return str(format_currency(Decimal(amount), currency or self.currency, locale=self.locale))

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
