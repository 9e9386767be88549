"""`assessment convert`: another tool's catalogue (CISO Assistant, DSOMM, a SAMM folder, a sheet, OSCAL) -> ours.

Like the other file commands it imports neither Flask nor SQLAlchemy. The result is checked by the
framework loader before anything is written, so a file it writes always validates. Exit 0 on
success, 2 when the source cannot be converted (every problem on standard error, nothing written).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .domain.convert import LICENSE_NAMES, MAX_FOLDER_FILES, YAML_SUFFIXES, convert_folder, convert_text
from .domain.convert.sheet import ZIP_SIGNATURE
from .domain.errors import ROOT_PATH, InvalidFile, Problem
from .domain.loader import load_framework_text
from .domain.yamlread import MAX_FILE_BYTES, read_text

EXIT_INVALID = 2
# One source file may be larger than a framework file (5 MB): NIST's full SP 800-53 catalog in
# OSCAL JSON is about 10 MB; what it converts to is checked against the framework limits after.
MAX_SOURCE_BYTES = 32 * 1024 * 1024


def read_folder(folder: Path) -> dict[str, str]:
    """The YAML files under `folder` and its licence file (or its parent's), by path inside it.

    Bounded like one file: at most 2,000 YAML files of 5 MB each and 20 MB in all.
    """
    try:
        paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in YAML_SUFFIXES and p.is_file())
    except OSError as exc:
        raise InvalidFile([Problem(str(folder), 1, ROOT_PATH, f"cannot be read: {exc.strerror}")]) from None
    if len(paths) > MAX_FOLDER_FILES:
        raise InvalidFile([Problem(str(folder), 1, ROOT_PATH, f"more than {MAX_FOLDER_FILES:,} YAML files")])
    files, problems, total = {}, [], 0
    for path in paths:
        name = path.relative_to(folder).as_posix()
        try:
            files[name] = read_text(path, f"{folder}/{name}")
        except InvalidFile as exc:
            problems += exc.problems
            continue
        total += len(files[name])
        if total > 4 * MAX_FILE_BYTES:
            raise InvalidFile([Problem(str(folder), 1, ROOT_PATH, f"more than {4 * MAX_FILE_BYTES:,} bytes of YAML")])
    if problems:
        raise InvalidFile(problems)
    for prefix, where in (("", folder), ("../", folder.resolve().parent)):
        try:
            licences = [p for p in sorted(where.iterdir()) if p.is_file() and p.name.lower() in LICENSE_NAMES]
        except OSError:  # a parent we may not list: no licence from there
            continue
        if licences:
            files[prefix + licences[0].name] = read_text(licences[0])
            break
    return files


def read_source(path: Path) -> str | bytes:
    """A source file's text, or its bytes when it is a zip file (an XLSX workbook); at most 32 MB."""
    try:
        with path.open("rb") as handle:
            signature = handle.read(len(ZIP_SIGNATURE))
    except OSError:
        signature = b""  # read_text says why the file cannot be read
    if signature != ZIP_SIGNATURE:
        return read_text(path, limit=MAX_SOURCE_BYTES)
    size = path.stat().st_size
    if size > MAX_SOURCE_BYTES:
        message = f"the file is {size:,} bytes; the limit is {MAX_SOURCE_BYTES:,} (32 MB)"
        raise InvalidFile([Problem(str(path), 1, ROOT_PATH, message)])
    return path.read_bytes()


def _fail(problems: list[Problem]) -> None:
    for problem in problems:
        click.echo(str(problem), err=True)
    sys.exit(EXIT_INVALID)


@click.command(name="convert")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write to this file.")
@click.option("--id", "framework_id", help="Spreadsheets only: the framework's id (default from the file name).")
@click.option("--title", help="Spreadsheets only: the framework's title (default from the file name).")
@click.option("--version", help="Spreadsheets only: the framework's version (default 1).")
@click.option("--source", "source_text", help="Spreadsheets only: where the content comes from.")
@click.option("--license", "license_text", help="Spreadsheets only: the content's licence.")
@click.option(
    "--catalog",
    type=click.Path(path_type=Path, dir_okay=False),
    help="OSCAL profiles only: the catalog file the profile selects from (JSON, YAML or XML).",
)
def convert_command(
    source: Path,
    output: Path | None,
    framework_id: str | None,
    title: str | None,
    version: str | None,
    source_text: str | None,
    license_text: str | None,
    catalog: Path | None,
) -> None:
    """Turn a CISO Assistant library or DSOMM model (YAML), a SAMM model folder or a CSV/XLSX sheet into a framework.

    Print it, or write it with -o. A sheet's framework facts come from --id, --title, --version,
    --source and --license (else from an XLSX sheet named `framework`, else from the file name).
    An OSCAL profile is resolved against the catalog given with --catalog.
    """
    facts = {"id": framework_id, "title": title, "version": version, "source": source_text, "license": license_text}
    facts = {key: value for key, value in facts.items() if value}
    try:
        if source.is_dir():
            if facts or catalog is not None:
                message = ", ".join(f"--{key}" for key in facts) + ": only for spreadsheets (CSV or XLSX)"
                if not facts:
                    message = "--catalog: only for OSCAL profiles (a file)"
                raise InvalidFile([Problem(str(source), 1, ROOT_PATH, message)])
            text = convert_folder(str(source), read_folder(source))
        else:
            given = (str(catalog), read_text(catalog, limit=MAX_SOURCE_BYTES)) if catalog is not None else None
            text = convert_text(read_source(source), str(source), facts, catalog=given)
        framework = load_framework_text(text, str(output or "<converted>"))
    except InvalidFile as exc:
        _fail(exc.problems)
    if output is None:
        click.echo(text, nl=False)
        return
    from .cli_files import _write_atomically  # here: cli_files imports this module

    _write_atomically(output, text.encode("utf-8"))
    click.echo(
        f"wrote {output}: {framework.id} {framework.version}, {len(framework.domains)} domains, "
        f"{len(framework.requirements)} requirements",
        err=True,
    )
