"""Every setting shopflow reads: its type, bounds, default and meaning.

This is the one definition. `infra/parameters.yaml` (the defaults an owner starts from, and
what `shopflow local` loads into SSM) is generated from it:
`python -m shopflow.config.spec > infra/parameters.yaml`; a contract test keeps them equal.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shopflow.capabilities import capability_setting_groups, capability_settings
from shopflow.kernel.settings import (
    Setting,
    SettingError,
    SettingGroup,
    Value,
    email_check,
    split_list,
    url_check,
)
from shopflow.kernel.standard_webhooks import standard_webhooks_key

# Setting, SettingError and Value are the kernel's (each capability declares its own settings);
# named here too, where config's readers have always found them.
__all__ = [
    "BY_KEY",
    "GROUPS",
    "SETTINGS",
    "Setting",
    "SettingError",
    "Value",
    "defaults_document",
    "key_to_name",
    "parse_setting",
    "setting_for",
    "settings_among",
]

# A sender's current secret: removing it would refuse the sender's every delivery.
_SIGNS_DELIVERIES = (
    "required: without it every delivery from this sender is refused (401), and WooCommerce never "
    "retries; to rotate it, set the old value as previous_secret, then `shopflow config set` the new one"
)


def _hmac_secret(value: str) -> str | None:
    return "must be at least 16 characters" if len(value) < 16 else None


def _whsec_secret(value: str) -> str | None:
    # Read by the signature check's own parser, so what is accepted here is what verifies.
    try:
        key = standard_webhooks_key(value)
    except ValueError as exc:
        return str(exc)
    # The Standard Webhooks spec's recommended key size.
    return "key must be 24 to 64 bytes" if not 24 <= len(key) <= 64 else None


_SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")


def _shop_domains(value: str) -> str | None:
    bad = [d for d in split_list(value) if not _SHOP_DOMAIN.match(d)]
    return f"not a *.myshopify.com domain: {', '.join(bad)}" if bad else None


_email = email_check  # the kernel's, so a capability's email setting is checked alike


def _timezone(value: str) -> str | None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return "must be an IANA time zone like Europe/Warsaw"
    return None


_QUIET = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")


def _quiet_hours(value: str) -> str | None:
    if value == "off" or _QUIET.match(value):
        return None
    return "must be HH:MM-HH:MM (e.g. 21:00-08:00) or off"


def _locale(value: str) -> str | None:
    return None if value in ("en", "ru", "pl") else "must be one of en, ru, pl"


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "webhooks.shopify.secret",
        "secret",
        "Shopify app's client secret: signs X-Shopify-Hmac-Sha256.",
        check=_hmac_secret,
        required=_SIGNS_DELIVERIES,
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
        required=_SIGNS_DELIVERIES,
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
        required=_SIGNS_DELIVERIES,
    ),
    Setting(
        "webhooks.events.previous_secret",
        "secret",
        "The events secret before the last rotation.",
        check=_whsec_secret,
    ),
    Setting(
        "shop.name",
        "string",
        "The shop name customers know: signs every message and starts every SMS; unset: they name no shop.",
    ),
    Setting("shop.url", "string", "The shop's home page, linked in messages.", check=url_check),
    Setting(
        "shop.timezone",
        "string",
        "Time zone for customers whose own is unknown (dates in messages, SMS quiet hours).",
        default="UTC",
        check=_timezone,
    ),
    Setting(
        "notify.locale_fallback",
        "string",
        "Language (en, ru, pl) for customers whose own is unknown or not one of these.",
        default="en",
        check=_locale,
    ),
    Setting(
        "notify.email.sender",
        "string",
        "From address of every email (verified in SES); no email is sent until it is set.",
        check=_email,
    ),
    Setting("notify.email.reply_to", "string", "Reply-To address of every email.", check=_email),
    Setting("notify.email.configuration_set", "string", "SES configuration set every email is sent with."),
    Setting(
        "notify.sms.max_segments",
        "int",
        "Longest SMS sent, in segments (160 GSM-7 / 70 UCS-2 characters each); a longer one is not sent.",
        default=3,
        minimum=1,
        maximum=10,
    ),
    Setting(
        "notify.unsubscribe.secret",
        "secret",
        "Signs unsubscribe links in marketing messages; changing it breaks the links already sent.",
        check=_hmac_secret,
    ),
    Setting(
        "notify.sms.quiet_hours",
        "string",
        "No SMS in these hours of the customer's day (their time zone): one due then waits for the end.",
        default="21:00-08:00",
        check=_quiet_hours,
    ),
    Setting(
        "notify.marketing.cap_hours",
        "int",
        "At most one marketing message (any flow, any channel) per customer in this many hours.",
        default=16,
        minimum=1,
        maximum=720,
    ),
    Setting(
        "notify.marketing.pause_after_order_days",
        "int",
        "No reminders (abandoned cart, review, replenishment) for this many days after an order; 0: off.",
        default=3,
        minimum=0,
        maximum=90,
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
SETTINGS += capability_settings()  # each capability declares its own (kernel/capability.py)
BY_KEY = {s.key: s for s in SETTINGS}
# Settings repeated per owner-chosen name (`channels.<name>.kind`): known by their pattern.
GROUPS: tuple[SettingGroup, ...] = capability_setting_groups()


def setting_for(key: str) -> Setting | None:
    """The setting `key` names: a fixed one, or a member of a group under a valid name."""
    found = BY_KEY.get(key)
    if found is not None:
        return found
    for group in GROUPS:
        member = group.member(key)
        if member is not None:
            return member
    return None


def settings_among(keys: Iterable[str]) -> tuple[Setting, ...]:
    """Every fixed setting, then every member of each group name found among `keys` (what is
    stored): a channel named by one setting shows all of its settings."""
    named = list(keys)
    members = tuple(
        setting
        for group in GROUPS
        for name in group.names(named)
        for member in group.members
        if (setting := group.member(group.key(name, member.key))) is not None
    )
    return SETTINGS + members


def parse_setting(key: str, raw: str) -> Value:
    """The typed value of `raw` for `key`, or `SettingError` naming the key and the problem."""
    setting = setting_for(key)
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
        return split_list(text)
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


def name_to_key(name: str) -> str:
    return name.replace("/", ".")


def _document_entry(s: Setting, description: str) -> dict[str, object]:
    return {
        "type": s.kind,
        "default": list(s.default) if isinstance(s.default, tuple) else s.default,
        **({"minimum": s.minimum} if s.minimum is not None else {}),
        **({"maximum": s.maximum} if s.maximum is not None else {}),
        "secure": s.secure,
        "description": description,
    }


def defaults_document() -> str:
    """infra/parameters.yaml: every setting's type, default and description."""
    import yaml  # only the generator needs it

    body = {s.key: _document_entry(s, s.description) for s in SETTINGS}
    for group in GROUPS:  # each member once, under a placeholder name
        for member in group.members:
            body[group.key("<name>", member.key)] = _document_entry(
                member, f"{member.description} (<name>: {group.what}, {group.name_pattern})"
            )
    header = (
        "# shopflow settings: SSM Parameter Store under /shopflow/{stage}/, a key's dots becoming slashes.\n"
        "# Generated from functions/shopflow/config/spec.py:\n"
        "#   python -m shopflow.config.spec > infra/parameters.yaml\n"
        "# Secrets (secure: true) are SecureStrings and have no default: set them per stage.\n"
    )
    return header + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=110)


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(defaults_document())
