"""One small adapter per kind of channel, each speaking that channel's own API (ports.py)."""
