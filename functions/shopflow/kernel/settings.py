"""What a setting is: its key, type, bounds, default and meaning. Each capability declares its
own (`<capability>/capability.py`); `config/spec.py` gathers them with the shared ones.

Common value checks live here so every capability checks a URL or a page template alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Literal

Kind = Literal["string", "secret", "int", "bool", "list"]
Value = str | int | bool | tuple[str, ...] | None


class SettingError(ValueError):
    """A value that does not fit its setting; the message says why, naming the key."""


@dataclass(frozen=True)
class Setting:
    key: str
    kind: Kind
    description: str
    default: Value = None
    minimum: int | None = None
    maximum: int | None = None
    check: Callable[[str], str | None] | None = None  # returns a complaint, or None when fine
    required: str | None = None  # why `config unset` may not remove it; None: it may

    @property
    def secure(self) -> bool:
        return self.kind == "secret"


def split_list(value: str) -> tuple[str, ...]:
    """A list setting's items: comma-separated, trimmed, lower case."""
    return tuple(part.strip().lower() for part in value.split(",") if part.strip())


def url_check(value: str) -> str | None:
    return None if re.match(r"^https?://[^\s/]+\.[^\s]+$", value) else "must be an http(s):// URL"


_EMAIL = re.compile(r"^[^@\s<>,;]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")


def email_check(value: str) -> str | None:
    return None if _EMAIL.match(value) else "must be an email address like orders@example.com"


def product_url_check(value: str) -> str | None:
    """A product page template: a URL with {product_id} or {sku} (and nothing else) to fill in."""
    if complaint := url_check(value):
        return complaint
    if "{product_id}" not in value and "{sku}" not in value:
        return "must contain {product_id} or {sku}"
    try:
        value.format(product_id="1", sku="1")
    except (KeyError, IndexError, ValueError):
        return "may use only {product_id} and {sku}"
    return None


@dataclass(frozen=True)
class SettingGroup:
    """Settings repeated under a name the owner chooses: `channels.<name>.kind`,
    `channels.<name>.url`, ... Each member is a `Setting` whose key is its field (`kind`);
    `member("channels.shop.kind")` is that setting under its full key. A member whose field is
    "" is the name's own key: `pricing.strategy.<group>`."""

    prefix: str  # "channels"
    name_pattern: str  # what a name may be, e.g. "[a-z0-9-]{1,32}"
    what: str  # what one name is, for messages: "a channel"
    members: tuple[Setting, ...]

    def key(self, name: str, field: str) -> str:
        return f"{self.prefix}.{name}.{field}" if field else f"{self.prefix}.{name}"

    def split(self, key: str) -> tuple[str, str] | None:
        """(name, field) of a key of this group, or None."""
        found = re.fullmatch(rf"{re.escape(self.prefix)}\.({self.name_pattern})(?:\.([a-z_]+))?", key)
        if found is None or (found.group(2) is None and all(member.key for member in self.members)):
            return None
        return found.group(1), found.group(2) or ""

    def member(self, key: str) -> Setting | None:
        parts = self.split(key)
        if parts is None:
            return None
        for setting in self.members:
            if setting.key == parts[1]:
                return replace(setting, key=key)
        return None

    def names(self, keys: Iterable[str]) -> tuple[str, ...]:
        """The names that have at least one member among `keys`, sorted."""
        return tuple(sorted({parts[0] for key in keys if (parts := self.split(key)) is not None}))
