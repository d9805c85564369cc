"""An outgoing webhook channel: one Standard Webhooks message per push (standardwebhooks.com).

For channels shopflow has no adapter for (an ERP feed, an integration hub): the owner gives an
endpoint and a `whsec_` secret, and each push POSTs

    {"type": "stock.published", "timestamp": "<when sent, ISO 8601>",
     "data": {"sku": ..., "quantity": ..., "channel": ..., "sequence": <the SKU's stock version>}}

with `webhook-id`, `webhook-timestamp` and `webhook-signature` (signed by the kernel's
`standard_webhook_signature`, the code shopflow's own signature check verifies against).

- `webhook-id` is derived from (channel, SKU, stock version, quantity), so a retry of a push is
  the same message (receivers dedupe on it), and a new quantity for the same stock version (the
  owner changed `stock_pct`) is a new one that a receiver will not drop as a duplicate.
- `sequence` orders a SKU's messages: a receiver keeps the highest it has seen.
- Any 2xx acknowledges the push (with the quantity sent: a webhook cannot be read back, so
  `read` answers {} and reconciliation skips the channel). 401/403 Unauthorized, 429 waits
  `Retry-After` a bounded number of times then Throttled, 5xx or no answer Unavailable: each
  stops the call there, the messages before it having been delivered (a retry repeats them with
  the same ids). A 3xx is not followed (ChannelError: fix the url). Any other 4xx rejects that
  one message.
- Prices (`push_prices`): one `price.published` message per push, data
  `{"sku", "channel", "price", "currency", "was", "sequence"}`, money as decimal strings ("19.90"),
  `was` the prior price shown struck through when the price is a cut and null otherwise,
  `sequence` the price's version for the SKU and channel. Its `webhook-id` is derived from
  (channel, SKU, sequence), so a retry is the same message. Answers as for stock.
- `batch_limit` 25: one request per push, so a call's worst case is 25 x `timeout` (250 s at
  10 s) of a slow receiver, inside a Lambda's time; the limit bounds time, not requests.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from shopflow.channels.adapters.http_calls import Answer, ThrottlePolicy, send, where, with_throttle_waits
from shopflow.channels.adapters.prices import money_text, price_refusal
from shopflow.channels.ports import (
    ChannelConfig,
    ChannelError,
    PricePush,
    PricePushed,
    Push,
    Pushed,
    Unauthorized,
    Unavailable,
)
from shopflow.kernel.standard_webhooks import standard_webhook_signature

EVENT_TYPE = "stock.published"
PRICE_EVENT_TYPE = "price.published"
BATCH_LIMIT = 25
DEFAULT_THROTTLE = ThrottlePolicy()


def webhook_id(channel: str, push: Push) -> str:
    """The message id of a push: the same for a retry, another for another quantity or version."""
    named = "\x1f".join((channel, push.sku, str(push.version), str(push.quantity)))
    return "msg_" + hashlib.sha256(named.encode()).hexdigest()[:32]


def stock_message(channel: str, push: Push, sent_at: datetime) -> bytes:
    """The body of a push's message (compact JSON, as it is signed)."""
    data = {"sku": push.sku, "quantity": push.quantity, "channel": channel, "sequence": push.version}
    document = {
        "type": EVENT_TYPE,
        "timestamp": sent_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    return json.dumps(document, separators=(",", ":")).encode()


def price_webhook_id(channel: str, push: PricePush) -> str:
    """The message id of a price push: one per (channel, SKU, sequence), the same for a retry."""
    named = "\x1f".join((PRICE_EVENT_TYPE, channel, push.sku, str(push.sequence)))
    return "msg_" + hashlib.sha256(named.encode()).hexdigest()[:32]


def price_message(channel: str, push: PricePush, sent_at: datetime) -> bytes:
    """The body of a price push's message (compact JSON, as it is signed)."""
    data = {
        "sku": push.sku,
        "channel": channel,
        "price": money_text(push.price),
        "currency": push.currency,
        "was": None if push.was is None else money_text(push.was),
        "sequence": push.sequence,
    }
    document = {
        "type": PRICE_EVENT_TYPE,
        "timestamp": sent_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    return json.dumps(document, separators=(",", ":")).encode()


class WebhookChannel:
    """A Standard Webhooks endpoint that hears every published quantity (see the module's docstring)."""

    def __init__(
        self,
        config: ChannelConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 10,
        throttle: ThrottlePolicy = DEFAULT_THROTTLE,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._config = config
        self._sleep = sleep
        self._timeout = timeout
        self._throttle = throttle
        # Wall-clock time: receivers check webhook-timestamp against theirs (5 minutes' tolerance).
        self._now = now

    @property
    def batch_limit(self) -> int:
        return BATCH_LIMIT

    def push(self, pushes: Sequence[Push]) -> list[Pushed]:
        return [self._deliver(push) for push in pushes]

    @property
    def price_batch_limit(self) -> int:
        return BATCH_LIMIT

    def push_prices(self, pushes: Sequence[PricePush]) -> list[PricePushed]:
        return [self._deliver_price(push) for push in pushes]

    def read(self, listing_ids: Sequence[str]) -> Mapping[str, int | None]:
        return {}  # a webhook cannot be read back

    def _deliver(self, push: Push) -> Pushed:
        message_id = webhook_id(self._config.name, push)
        answer = self._send(message_id, lambda sent_at: stock_message(self._config.name, push, sent_at))
        refusal = self._refusal(answer)
        if refusal is None:
            return Pushed(push.listing_id, "acknowledged", push.quantity)
        return Pushed(push.listing_id, "rejected", None, refusal)

    def _deliver_price(self, push: PricePush) -> PricePushed:
        why = price_refusal(push)
        if why is not None:
            return PricePushed(push.listing_id, "rejected", why)
        message_id = price_webhook_id(self._config.name, push)
        answer = self._send(message_id, lambda sent_at: price_message(self._config.name, push, sent_at))
        refusal = self._refusal(answer)
        return PricePushed(push.listing_id, "rejected" if refusal else "acknowledged", refusal)

    def _send(self, message_id: str, body_at: Callable[[datetime], bytes]) -> Answer:
        """POST one message, signed; 429s waited out as `Retry-After` says (then Throttled)."""

        def send_once() -> Answer:
            # Signed afresh on each attempt: webhook-timestamp is the attempt's time (the spec's rule).
            sent_at = self._now()
            body = body_at(sent_at)
            timestamp = int(sent_at.timestamp())
            try:
                signature = standard_webhook_signature(
                    body, msg_id=message_id, timestamp=timestamp, secret=self._config.token
                )
            except ValueError as error:
                raise Unauthorized(f"channel {self._config.name}: the secret {error}") from None
            headers = {
                "Content-Type": "application/json",
                "webhook-id": message_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": signature,
            }
            return send(self._config.url, method="POST", headers=headers, body=body, timeout=self._timeout)

        return with_throttle_waits(send_once, sleep=self._sleep, policy=self._throttle)

    def _refusal(self, answer: Answer) -> str | None:
        """None for a 2xx; the reason for a message's own refusal (another 4xx); else raises."""
        said = f"POST {where(self._config.url)}: HTTP {answer.status}"
        if 200 <= answer.status < 300:
            return None
        if answer.status in (401, 403):
            raise Unauthorized(said)
        if answer.status >= 500:
            raise Unavailable(said)
        if 300 <= answer.status < 400:
            raise ChannelError(
                f"{said}: redirected to {answer.header('Location')}; set the channel's url to it"
            )
        return said
