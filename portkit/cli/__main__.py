"""``python -m portkit.cli``: the ``portkit`` command."""

import sys

from portkit.cli import main

if __name__ == "__main__":
    sys.exit(main())
