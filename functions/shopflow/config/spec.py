"""Every setting shopflow reads: its type, bounds, default and meaning.

This is the one definition. `infra/parameters.yaml` (the defaults an owner starts from, and
what `shopflow local` loads into SSM) is generated from it:
`python -m shopflow.config.spec > infra/parameters.yaml`; a contract test keeps them equal.
"""

from __future__ import annotations

import base64
import binascii
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
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

    @property
    def secure(self) -> bool:
        return self.kind == "secret"


def _hmac_secret(value: str) -> str | None:
    return "must be at least 16 characters" if len(value) < 16 else None


def _whsec_secret(value: str) -> str | None:
    if not value.startswith("whsec_"):
        return "must start with whsec_"
    try:
        key = base64.b64decode(value.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        return "must be whsec_ followed by base64"
    return "key must be 24 to 64 bytes" if not 24 <= len(key) <= 64 else None


_SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")


def _shop_domains(value: str) -> str | None:
    bad = [d for d in _split(value) if not _SHOP_DOMAIN.match(d)]
    return f"not a *.myshopify.com domain: {', '.join(bad)}" if bad else None


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip().lower() for part in value.split(",") if part.strip())


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "webhooks.shopify.secret",
        "secret",
        "Shopify app's client secret: signs X-Shopify-Hmac-Sha256.",
        check=_hmac_secret,
    ),
    Setting(
        "webhooks.shopify.previous_secret",
        "secret",
        "The Shopify secret before the last rotation; still accepted until removed.",
        check=_hmac_secret,
    ),
    Setting(
        "webhooks.shopify.shop_domains",
        "list",
        "Comma-separated shops (name.myshopify.com) whose webhooks are accepted.",
        default=(),
        check=_shop_domains,
    ),
    Setting(
        "webhooks.woocommerce.secret",
        "secret",
        "WooCommerce webhook secret: signs X-WC-Webhook-Signature.",
        check=_hmac_secret,
    ),
    Setting(
        "webhooks.woocommerce.previous_secret",
        "secret",
        "The WooCommerce secret before the last rotation.",
        check=_hmac_secret,
    ),
    Setting(
        "webhooks.events.secret",
        "secret",
        "Standard Webhooks secret (whsec_...) for /webhooks/events senders.",
        check=_whsec_secret,
    ),
    Setting(
        "webhooks.events.previous_secret",
        "secret",
        "The events secret before the last rotation.",
        check=_whsec_secret,
    ),
    Setting(
        "dedup.retention_days",
        "int",
        "Days a delivery is remembered for deduplication (Shopify retries for 4 hours, others for days).",
        default=8,
        minimum=7,
        maximum=90,
    ),
)
BY_KEY = {s.key: s for s in SETTINGS}


def parse_setting(key: str, raw: str) -> Value:
    """The typed value of `raw` for `key`, or `SettingError` naming the key and the problem."""
    setting = BY_KEY.get(key)
    if setting is None:
        raise SettingError(f"{key}: unknown setting")
    text = raw.strip()
    if setting.check is not None and text and (complaint := setting.check(text)):
        raise SettingError(f"{key}: {complaint}")
    if setting.kind in ("string", "secret"):
        if not text:
            raise SettingError(f"{key}: must not be empty")
        return text
    if setting.kind == "list":
        return _split(text)
    if setting.kind == "bool":
        if text.lower() not in ("true", "false"):
            raise SettingError(f"{key}: must be true or false, not {text!r}")
        return text.lower() == "true"
    try:
        number = int(text)
    except ValueError:
        raise SettingError(f"{key}: must be a whole number, not {text!r}") from None
    if setting.minimum is not None and number < setting.minimum:
        raise SettingError(f"{key}: must be at least {setting.minimum}, not {number}")
    if setting.maximum is not None and number > setting.maximum:
        raise SettingError(f"{key}: must be at most {setting.maximum}, not {number}")
    return number


def key_to_name(key: str) -> str:
    """`webhooks.shopify.secret` -> `webhooks/shopify/secret` (the path under /shopflow/{stage}/)."""
    return key.replace(".", "/")


def defaults_document() -> str:
    """infra/parameters.yaml: every setting's type, default and description."""
    import yaml  # only the generator needs it

    body = {
        s.key: {
            "type": s.kind,
            "default": list(s.default) if isinstance(s.default, tuple) else s.default,
            **({"minimum": s.minimum} if s.minimum is not None else {}),
            **({"maximum": s.maximum} if s.maximum is not None else {}),
            "secure": s.secure,
            "description": s.description,
        }
        for s in SETTINGS
    }
    header = (
        "# shopflow settings: SSM Parameter Store under /shopflow/{stage}/, a key's dots becoming slashes.\n"
        "# Generated from functions/shopflow/config/spec.py:\n"
        "#   python -m shopflow.config.spec > infra/parameters.yaml\n"
        "# Secrets (secure: true) are SecureStrings and have no default: set them per stage.\n"
    )
    return header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=110)


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(defaults_document())
