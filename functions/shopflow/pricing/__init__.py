"""Dynamic pricing (issue 16): the pure engine, its floors and its strategies. docs/pricing.md."""
