"""The languages shopflow writes messages in, and which one a customer gets."""

from __future__ import annotations

import re

SUPPORTED_LOCALES = ("en", "ru", "pl")


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
