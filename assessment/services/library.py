"""Reading the shipped framework library, for the command line and the web pages alike."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..domain.errors import Problem
from ..domain.framework import Framework
from ..domain.loader import load_library


@dataclass(frozen=True)
class FrameworkSummary:
    """One line of the library listing."""

    id: str
    version: str
    title: str
    kind: str
    domains: int
    requirements: int
    levels: int


def summarise(framework: Framework) -> FrameworkSummary:
    """The listing line of a framework."""
    return FrameworkSummary(
        framework.id,
        framework.version,
        framework.title,
        framework.kind,
        len(framework.domains),
        len(framework.requirements),
        len(framework.levels),
    )


def read_library(directory: Path) -> tuple[list[Framework], list[Problem]]:
    """The valid frameworks of `directory`, sorted by id, and the problems of the others."""
    frameworks, problems = load_library(directory)
    return sorted(frameworks, key=lambda f: (f.id, f.version)), problems


def library_summaries(directory: Path) -> tuple[list[FrameworkSummary], list[Problem]]:
    """The listing of `directory`."""
    frameworks, problems = read_library(directory)
    return [summarise(f) for f in frameworks], problems
