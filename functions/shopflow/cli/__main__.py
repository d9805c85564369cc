"""`python -m shopflow.cli`: the `shopflow` command without its console script."""

import sys

from shopflow.cli import main

sys.exit(main())
