"""One structured JSON logger for the whole package (Powertools).

Log ids, topics, field names and error types; never raw bodies, emails, phone numbers, names or
addresses (decision 37). Code logs no values, and this module makes sure nothing else does: an
exception is logged as its types and code lines without its message (a message or a pydantic
error may quote the input), and an email address or phone number that still reaches a log line
is masked.
"""

from __future__ import annotations

import re
import traceback
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter


def mask(address: str) -> str:
    """a***@example.com / +48*****789: enough to tell messages apart, not enough to reuse."""
    if "@" in address:
        local, domain = address.split("@", 1)
        return f"{local[:1]}***@{domain}"
    return address[:3] + "*" * max(0, len(address) - 6) + address[-3:]


def log_safe_error(exc: BaseException) -> str:
    """What went wrong without the values: the exception's type, and for a pydantic
    `ValidationError` each failing field with its error type (never its `input`)."""
    kind = type(exc)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    errors = getattr(exc, "errors", None)
    if kind.__name__ == "ValidationError" and kind.__module__.startswith("pydantic") and callable(errors):
        fields = [
            f"{'.'.join(str(part) for part in error['loc']) or '(body)'} ({error['type']})"
            for error in errors(include_input=False, include_url=False, include_context=False)
        ]
        return f"{name}: {', '.join(fields)}"
    return f"{name} (message withheld: it may quote the input)"


def log_safe_traceback(exc: BaseException) -> str:
    """A traceback as Python prints it, each exception of the chain reduced to `log_safe_error`."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    parts = [
        "Traceback (most recent call last):\n"
        + "".join(traceback.format_list(traceback.extract_tb(link.__traceback__)))
        + log_safe_error(link)
        for link in reversed(chain)
    ]
    return "\n\nwhich led to:\n\n".join(parts)


_EMAIL = re.compile(r"[^\s@\"'<>(),;:]+@[^\s@\"'<>(),;:]+\.[^\s@\"'<>(),;:]+")
_PHONE = re.compile(r"\+\d[\d ()./-]{5,18}\d")


def _masked(found: re.Match[str]) -> str:
    return mask(found.group())


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        value = _PHONE.sub(_masked, _EMAIL.sub(_masked, value))
        # A lone surrogate cannot be written as UTF-8: the stream would fail and print the raw record.
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {key: _scrubbed(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrubbed(item) for item in value]
    return value


class LogSafeFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON lines, with exceptions reduced to types and code lines and any email or
    phone number masked. Chalice logs through the same logger, so its tracebacks are too."""

    def formatException(self, ei: Any) -> str:
        return log_safe_traceback(ei[1]) if isinstance(ei, tuple) and ei[1] is not None else ""

    def serialize(self, log: Any) -> str:
        log.pop("exception_notes", None)  # notes are free text added by libraries
        return super().serialize(_scrubbed(log))


# serialize_stacktrace=False: Powertools' `stack_trace` field carries the exception's message.
logger = Logger(service="shopflow", logger_formatter=LogSafeFormatter(serialize_stacktrace=False))
