"""Orders: the canonical order, its status state machine, and how deliveries change it."""
