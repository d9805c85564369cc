"""One small adapter per kind of channel, each speaking that channel's own API (ports.py)."""

from __future__ import annotations

from shopflow.channels.ports import ChannelAdapter, ChannelConfig


def adapter_for(config: ChannelConfig) -> ChannelAdapter:
    """The adapter for `config`'s kind (imported when used: a function loads only its own)."""
    if config.kind == "shopify":
        from shopflow.channels.adapters.shopify import ShopifyChannel

        return ShopifyChannel(config)
    if config.kind == "woocommerce":
        from shopflow.channels.adapters.woocommerce import WooCommerceChannel

        return WooCommerceChannel(config)
    from shopflow.channels.adapters.webhook import WebhookChannel

    return WebhookChannel(config)
