"""``python -m labkit``: the same program as the ``labkit`` command."""

import sys

from labkit.cli import main

sys.exit(main())
