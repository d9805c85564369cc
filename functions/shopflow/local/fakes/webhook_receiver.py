"""A fake Standard Webhooks receiver on 127.0.0.1: the endpoint of an outgoing webhook channel.

It checks each delivery with shopflow's own verifier (`webhooks/signatures.py`), answers 401 to a
bad signature and 204 to a good one, and records what it got, deduplicated by `webhook-id` as the
Standard Webhooks spec asks receivers to: `stock.published` and `price.published` messages alike
(`quantities()` and `prices()` show what a receiver keeping each SKU's highest `sequence` shows).
Test hooks (Python, never HTTP): 5xx or 429 for the
next N deliveries, down (connection refused), and what it holds per SKU.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

from shopflow.local.fakes.server import HOST, LocalServer
from shopflow.webhooks.signatures import SignatureError, verify_standard_webhook


@dataclass(frozen=True)
class Delivery:
    """One request as received: its headers of note, its body, whether the signature held, the answer."""

    webhook_id: str | None
    timestamp: str | None
    signature: str | None
    body: bytes
    verified: bool
    status: int

    def document(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Faults:
    failing: int = 0
    failing_status: int = 503
    throttled: int = 0
    retry_after: str | None = "1"


@dataclass
class FakeWebhookReceiver:
    """Use as a context manager, or `start()` / `stop()`; `url` is the channel's endpoint."""

    secret: str
    port: int = 0
    deliveries: list[Delivery] = field(default_factory=list, init=False)
    _faults: _Faults = field(default_factory=_Faults, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _http: LocalServer = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._http = LocalServer("fake-webhook", self.port)

    def start(self) -> FakeWebhookReceiver:
        receiver = self

        class Handler(_Handler):
            owner = receiver

        self._http.start(Handler)
        self.port = self._http.port
        return self

    def stop(self) -> None:
        self._http.stop()

    def __enter__(self) -> FakeWebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/hooks/stock"

    # -- hooks -------------------------------------------------------------------------------

    def go_down(self) -> None:
        self.stop()

    def come_back(self) -> None:
        self.start()

    def fail_next(self, count: int, status: int = 503) -> None:
        with self._lock:
            self._faults.failing, self._faults.failing_status = count, status

    def throttle(self, count: int, retry_after: str | None = "1") -> None:
        with self._lock:
            self._faults.throttled, self._faults.retry_after = count, retry_after

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self.deliveries)

    def messages(self) -> list[dict[str, Any]]:
        """The messages taken (verified, answered 2xx), each once (by webhook-id), in the order they came."""
        seen: set[str | None] = set()
        unique = []
        with self._lock:
            for delivery in self.deliveries:
                if delivery.status < 300 and delivery.webhook_id not in seen:
                    seen.add(delivery.webhook_id)
                    unique.append(delivery.document())
        return unique

    def quantities(self) -> dict[str, int]:
        """What a receiver that keeps the highest `sequence` per SKU would show."""
        best: dict[str, tuple[int, int]] = {}
        for message in self.messages():
            if message.get("type") != "stock.published":
                continue
            data = message["data"]
            if data["sku"] not in best or data["sequence"] >= best[data["sku"]][0]:
                best[data["sku"]] = (data["sequence"], data["quantity"])
        return {sku: quantity for sku, (_, quantity) in best.items()}

    def prices(self) -> dict[str, dict[str, Any]]:
        """Per SKU, the `price.published` data with the highest `sequence` (what a receiver sells at)."""
        best: dict[str, dict[str, Any]] = {}
        for message in self.messages():
            if message.get("type") != "price.published":
                continue
            data = message["data"]
            if data["sku"] not in best or data["sequence"] >= best[data["sku"]]["sequence"]:
                best[data["sku"]] = data
        return best

    # -- the endpoint ------------------------------------------------------------------------

    def _receive(self, headers: Any, body: bytes) -> tuple[int, dict[str, str]]:
        webhook_id = headers.get("webhook-id")
        timestamp = headers.get("webhook-timestamp")
        signature = headers.get("webhook-signature")
        try:
            verify_standard_webhook(
                body,
                msg_id=webhook_id,
                timestamp=timestamp,
                signature=signature,
                secrets=[self.secret],
                now=datetime.now(UTC),
            )
            verified = True
        except SignatureError:
            verified = False
        with self._lock:
            status, extra = (204, {}) if verified else (401, {})
            if self._faults.failing > 0:
                self._faults.failing -= 1
                status = self._faults.failing_status
            elif self._faults.throttled > 0:
                self._faults.throttled -= 1
                retry = self._faults.retry_after
                status, extra = 429, {} if retry is None else {"Retry-After": retry}
            self.deliveries.append(Delivery(webhook_id, timestamp, signature, body, verified, status))
        return status, extra


class _Handler(BaseHTTPRequestHandler):
    owner: FakeWebhookReceiver
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, headers = self.owner._receive(self.headers, body)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass
