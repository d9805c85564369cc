"""Every email and SMS that `shopflow local` sends, written to `.shopflow/outbox/`.

moto accepts SES and SNS calls and keeps what was sent in its in-process backends; this
reads them and writes one file per message: the raw MIME as `.eml` (html and text parts as
sent), an SMS as `.txt`. Each gets one readable line in the console. Every `.eml` has a `Date`
(RFC 5322): shopflow's raw emails carry their own; one without gets the time it was collected,
as a submission server adds a missing Date (RFC 6409, 8.3).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from shopflow.observability import mask

ACCOUNT = "123456789012"


@dataclass(frozen=True)
class Written:
    path: Path
    channel: str  # "email" | "sms"
    to: str
    summary: str  # subject, or the start of the SMS


class OutboxWriter:
    def __init__(self, directory: Path, region: str, report: Callable[[str], None]) -> None:
        self.directory = directory
        self._region = region
        self._report = report
        self._emails_seen = 0
        self._sms_seen: set[str] = set()
        self._lock = threading.Lock()
        self.written: list[Written] = []

    def collect(self) -> list[Written]:
        """Write what was sent since the last call; returns the new files."""
        from moto.ses.models import ses_backends
        from moto.sns.models import sns_backends

        with self._lock:
            new: list[Written] = []
            sent = list(ses_backends[ACCOUNT][self._region].sent_messages)
            for message in sent[self._emails_seen :]:
                new.append(self._write_email(message))
            self._emails_seen = len(sent)
            for message_id, (phone, text) in list(sns_backends[ACCOUNT][self._region].sms_messages.items()):
                if message_id not in self._sms_seen:
                    self._sms_seen.add(message_id)
                    new.append(self._write_sms(message_id, phone, text))
            self.written.extend(new)
        for item in new:
            self._report(f"{item.channel} to {mask(item.to)}: {item.summary} -> {item.path}")
        return new

    def _stamp(self) -> str:
        return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")

    def _write_email(self, message: Any) -> Written:
        raw = getattr(message, "raw_data", None)
        if raw is not None:  # send_raw_email / SESv2 Raw: exactly what was sent
            data = raw.encode() if isinstance(raw, str) else raw
            parsed = message_from_bytes(data, policy=policy.default)
            if parsed.get("Date") is None:
                data = f"Date: {_now_rfc5322()}\r\n".encode() + data
            to = str(parsed.get("To", "") or ",".join(getattr(message, "destinations", []) or []))
            subject = str(parsed.get("Subject", ""))
        else:  # send_email (Simple): moto keeps one body, the html one when both were sent
            built = EmailMessage()
            built["From"] = message.source
            to = ", ".join(message.destinations.get("ToAddresses", []))
            built["To"] = to
            built["Subject"] = message.subject
            built["Date"] = _now_rfc5322()
            body = message.body or ""
            built.set_content(body, subtype="html" if body.lstrip().startswith("<") else "plain")
            data = built.as_bytes()
            subject = message.subject
        path = self._path(f"{message.id}.eml")
        path.write_bytes(data)
        return Written(path, "email", to, f"{subject!r}")

    def _write_sms(self, message_id: str, phone: str, text: str) -> Written:
        path = self._path(f"{message_id}.txt")
        path.write_text(f"To: {phone}\n\n{text}\n")
        first_line = text.splitlines()[0] if text else ""
        return Written(path, "sms", phone, repr(first_line[:60] + ("..." if len(first_line) > 60 else "")))

    def _path(self, name: str) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        return self.directory / f"{self._stamp()}-{name}"


def _now_rfc5322() -> str:
    return format_datetime(datetime.now(UTC))  # "Mon, 02 Nov 2026 09:00:00 +0000"
