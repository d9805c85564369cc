"""One structured JSON logger for the whole package (Powertools).

Log ids, topics and reasons; never raw bodies, emails or phone numbers.
"""

from aws_lambda_powertools import Logger

logger = Logger(service="shopflow")


def mask(address: str) -> str:
    """a***@example.com / +48*****789: enough to tell messages apart, not enough to reuse."""
    if "@" in address:
        local, domain = address.split("@", 1)
        return f"{local[:1]}***@{domain}"
    return address[:3] + "*" * max(0, len(address) - 6) + address[-3:]
