"""`python -m hwotp`, and the console script's entry point (`main`).

Most of a daily command's time is importing modules. The collector finds no garbage among
what an import builds (modules, classes, functions: all kept until exit), so it is held off
while they load, and what is loaded is frozen: neither the collections an import would set off
nor the one at interpreter exit walk those objects again (bench/code.py: ~12 ms of ~70).
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable


def main() -> None:
    """Console-script entry point: the command line, its imports unwatched by the collector."""
    gc.disable()
    try:
        run_command_line = _parser_for(sys.argv[1:])
    finally:
        gc.freeze()
        gc.enable()
    try:
        run_command_line()
    finally:
        gc.freeze()  # what the command imported too: the exit's collection skips it


def _parser_for(args: list[str]) -> Callable[[], object]:
    """The daily `hwotp code` parsed without click (`hwotp.cli.quick`), else click's parser."""
    from hwotp.cli import quick

    line = quick.parse(args)
    if line is not None:
        return lambda: quick.run(line)
    from hwotp.cli.root import main as click_main

    return click_main


if __name__ == "__main__":
    main()
