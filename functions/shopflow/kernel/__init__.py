"""The shared kernel: what every capability speaks, with no AWS import (decision 50).

Money, the timeline line, `Skip`, a timer request, the errors a store raises when a write
lost a race, and the Standard Webhooks secret format (read by intake and by the settings check).
A capability imports these; it never imports another capability's internals.
"""
