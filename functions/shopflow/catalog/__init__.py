"""The shop's products as the storefronts describe them (for now: their tags)."""
