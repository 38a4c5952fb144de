"""The ``wsrun`` console script: the Rust command line, same flags and exit codes as the binary."""

from __future__ import annotations

import signal
import sys
from typing import List, Optional

from . import _wsrun


def main(argv: Optional[List[str]] = None) -> None:
    args = list(sys.argv if argv is None else argv)
    if args:
        args[0] = "wsrun"
    # Let Ctrl-C reach the engine as it does in the binary (it stops the run, writes the reports
    # and exits 130) instead of becoming a KeyboardInterrupt traceback afterwards.
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    except ValueError:  # not the main thread
        pass
    sys.exit(_wsrun.cli_main(args))


if __name__ == "__main__":
    main()
