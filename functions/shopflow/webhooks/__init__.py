"""Webhooks: per-sender signature checks and normalization into canonical order changes."""
