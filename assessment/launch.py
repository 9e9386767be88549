"""The `assessment` console command.

The commands that work on files alone run from `assessment.cli_files`, which loads neither Flask
nor SQLAlchemy, and end without tearing the interpreter down (see `leave`); every other command
(and `--help`) runs from `assessment.cli`. A command that renders a PDF (`report`, `bundle`)
starts the report rendering workers before anything else is imported: the first spends about
0.6 s importing WeasyPrint before it forks the second, and this way that time overlaps the
command's own start-up instead of following it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
from typing import NoReturn

PDF_COMMANDS = {"report", "bundle"}


def renders_pdf(args: list[str]) -> bool:
    """Whether these command-line arguments ask for a PDF to be rendered."""
    if not args or args[0] not in PDF_COMMANDS or {"-h", "--help"} & set(args):
        return False
    formats = [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == "--format"]
    formats += [arg.split("=", 1)[1] for arg in args if arg.startswith("--format=")]
    return args[0] == "bundle" or formats[-1:] in ([], ["pdf"])


def leave(code: int | str | None) -> NoReturn:
    """End a file command without tearing the interpreter down: the exit handlers run (rendering
    workers are stopped, logs flushed), the output is flushed, and the process ends. Taking every
    module apart would cost a report about a tenth of a second and gives a command nothing."""
    if isinstance(code, str):
        print(code, file=sys.stderr)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader that has gone, a stream closed
            stream.flush()
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)


def main() -> None:
    """Console-script entry point."""
    args = sys.argv[1:]
    if renders_pdf(args):
        from reports import pool

        pool.warm()
    from .cli_files import files  # assessment.cli imports it as well, so no command pays for it twice

    if args and args[0] in files.commands:
        try:
            files.main(prog_name="assessment")
        except SystemExit as done:
            leave(done.code)
    else:
        from .cli import main as run

        run()
