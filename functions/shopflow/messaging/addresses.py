"""An email address as SES takes it: pure, so deciding whether a message can go needs no AWS code."""

from __future__ import annotations

import encodings.idna
import re


class UndeliverableAddress(ValueError):
    """An email address that cannot go on the wire as SES takes it; the text says why (never the address)."""


INVALID_ADDRESS = "invalid email address"
# SES does not support SMTPUTF8 (RFC 6531): a local part must be 7-bit ASCII, a domain IDNA-encoded.
NON_ASCII_LOCAL_PART = "email address not deliverable (non-ASCII local part: SES does not support SMTPUTF8)"
# The stdlib codec is IDNA 2003, which maps these four to other characters (strasse.de for straße.de):
# IDNA 2008, what registries use, keeps them, so the message would reach another domain.
IDNA_2008_ONLY = "email address not deliverable (domain needs IDNA 2008: it has ß, ς, ZWJ or ZWNJ)"
_IDNA_DEVIATIONS = frozenset("\u00df\u03c2\u200c\u200d")
_DOT_ATOM = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,63}$")


def wire_address(address: str) -> str:
    """`address` as it goes in a header and to SES: an ASCII dot-atom local part (RFC 5322) and
    the domain in its IDNA ASCII form (RFC 5891, punycode), `ann@xn--bcher-kva.de` for
    `ann@bücher.de`. Raises `UndeliverableAddress` with the reason when it cannot go."""
    local, at, domain = address.rpartition("@")
    if not (at and local and domain):
        raise UndeliverableAddress(INVALID_ADDRESS)
    if not local.isascii():
        raise UndeliverableAddress(NON_ASCII_LOCAL_PART)
    if len(local) > 64 or not _DOT_ATOM.match(local):  # RFC 5321's limit; quoted local parts are not taken
        raise UndeliverableAddress(INVALID_ADDRESS)
    if not domain.isascii():
        if _IDNA_DEVIATIONS.intersection(domain.lower()):
            raise UndeliverableAddress(IDNA_2008_ONLY)
        try:
            domain = ".".join(encodings.idna.ToASCII(label).decode("ascii") for label in domain.split("."))
        except UnicodeError:
            raise UndeliverableAddress(INVALID_ADDRESS) from None
    if len(domain) > 253 or not _HOST.match(domain):
        raise UndeliverableAddress(INVALID_ADDRESS)
    return f"{local}@{domain}"


# CRLF as SMTP wants, and lines folded only past RFC 5322's 998 characters: a folded
# List-Unsubscribe becomes an encoded word that mail clients cannot use as a link.
