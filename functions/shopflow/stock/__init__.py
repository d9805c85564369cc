"""Stock levels and checkout reservations: nothing is ever sold twice (docs/decisions.md 59)."""
