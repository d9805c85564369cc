"""Back-in-stock alerts: shoppers who asked hear first when a sold-out SKU is back, while there is stock."""
