"""`python -m mbv2gui`: the same entry point as the `mbv2gui` command."""

import sys

from mbv2gui.cli import main

if __name__ == "__main__":
    sys.exit(main())
