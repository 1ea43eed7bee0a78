"""The ``rnnbench`` console script. It imports the command line inside a guard, so that
Ctrl-C during start-up (torch, pandas and matplotlib take seconds to import) ends with one
line, as it does later."""

from __future__ import annotations

import sys
from collections.abc import Sequence

INTERRUPTED = 130  # the shell's code for a process ended by SIGINT


def main(argv: Sequence[str] | None = None) -> int:
    try:
        from bench.cli import main as cli
    except KeyboardInterrupt:
        print("rnnbench: interrupted while starting; nothing was run", file=sys.stderr)
        return INTERRUPTED
    return cli(argv)


if __name__ == "__main__":
    sys.exit(main())
