"""Abandoned carts: a cart seen at a storefront, reminded after inactivity, left alone once bought."""
