"""The `assessment` console command.

The commands that work on files alone run from `assessment.cli_files`, which loads neither Flask
nor SQLAlchemy; every other command (and `--help`) from `assessment.cli`. A command that renders a
PDF (`report`, `bundle`) starts the report rendering workers before anything else is imported:
each worker spends about a second importing WeasyPrint, and this way that second overlaps the
command's own start-up instead of following it.
"""

from __future__ import annotations

import sys

PDF_COMMANDS = {"report", "bundle"}
FILE_COMMANDS = {"validate", "score", "report", "bundle", "verify-bundle", "schema"}


def renders_pdf(args: list[str]) -> bool:
    """Whether these command-line arguments ask for a PDF to be rendered."""
    if not args or args[0] not in PDF_COMMANDS or {"-h", "--help"} & set(args):
        return False
    formats = [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == "--format"]
    formats += [arg.split("=", 1)[1] for arg in args if arg.startswith("--format=")]
    return args[0] == "bundle" or formats[-1:] in ([], ["pdf"])


def main() -> None:
    """Console-script entry point."""
    args = sys.argv[1:]
    if renders_pdf(args):
        from reports import pool

        pool.warm()
    if args and args[0] in FILE_COMMANDS:
        from .cli_files import files

        files.main(prog_name="assessment")
    else:
        from .cli import main as run

        run()
