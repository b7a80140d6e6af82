"""The frozen app's entry script: the same `main()` as the `mbv2gui` command."""

import sys

from mbv2gui.cli import main

if __name__ == "__main__":
    sys.exit(main())
