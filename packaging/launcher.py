"""The frozen app's entry script: the same `main()` as the `mbv2gui` command."""

import multiprocessing
import sys

from mbv2gui.cli import main

if __name__ == "__main__":
    # The engine process (mbv2gui.core.engine) is a spawned copy of this program; in a frozen
    # bundle this call makes that copy run the engine instead of opening another window.
    multiprocessing.freeze_support()
    sys.exit(main())
