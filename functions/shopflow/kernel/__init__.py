"""The shared kernel: what every capability speaks, with no AWS import (decision 50).

Money, the timeline line, `Skip`, a timer request and the errors a store raises when a write
lost a race. A capability imports these; it never imports another capability's internals.
"""
