"""Local fake servers of the sales channels shopflow pushes stock to, faithful to their documented APIs."""

# What can go wrong with a shop, to watch shopflow cope (`shopflow local channels --fault`):
FAULTS = {
    "down": "refuses connections until `up`",
    "up": "listens again, with everything it held, and answers normally (pending 503s, 429s cleared)",
    "unavailable": "answers the next N requests 503 (one that was down listens again to do so)",
    "throttle": "WooCommerce: answers the next N requests 429 (Retry-After: 1); "
    "Shopify: its query-cost bucket is empty and refills at 1 point a second until `up` (THROTTLED)",
    "stale": "Shopify: N units of SKU sell there after shopflow reads and before its next write",
    "bad-item": "WooCommerce: refuses every update of SKU (its stock or price) inside its batches",
    "sell": "N units of SKU sell on the shop (a fake sends no order webhook: shopflow sees it reconciling)",
    "revoke-token": "refuses the token shopflow holds and issues a new one (printed)",
}
