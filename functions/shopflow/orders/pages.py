"""Links from an order's lines to the shop's pages (review requests, replenishment reminders)."""

from __future__ import annotations

from shopflow.orders.model import Order


def product_links(order: Order, url_template: str) -> tuple[tuple[str, str], ...]:
    """(product name, review page) once per page, in the order's line order. A page template with
    {sku} reviews each variant; one with {product_id} reviews each product once."""
    by_sku = "{sku}" in url_template
    seen: set[str] = set()
    links: list[tuple[str, str]] = []
    for line in order.lines:
        if ("{product_id}" in url_template and not line.product_id) or (by_sku and not line.sku):
            continue
        page = url_template.format(product_id=line.product_id or "", sku=line.sku or "")
        if page not in seen:
            seen.add(page)
            links.append((line.name, page))
    return tuple(links)


def shop_links(order: Order, url_template: str | None, shop_url: str | None) -> tuple[tuple[str, str], ...]:
    """(product name, where to buy it again): its page when the template can be filled for the
    line, else the shop's home page; () when there is neither."""
    links: list[tuple[str, str]] = []
    for line in order.lines:
        page = None
        if url_template is not None:
            page = product_links(order.model_copy(update={"lines": (line,)}), url_template)
        if page:
            links.append(page[0])
        elif shop_url is not None:
            links.append((line.name, shop_url))
    return tuple(links)
