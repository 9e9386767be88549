"""Problems found in a framework or answers file, in the spec's `FILE:LINE: PATH: message` form."""

from __future__ import annotations

from dataclasses import dataclass

ROOT_PATH = "$"


@dataclass(frozen=True, slots=True)
class Problem:
    """One error of a file: where it is and what would be valid."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path or ROOT_PATH}: {self.message}"


class InvalidFile(Exception):
    """Raised with every problem of a file, never with only the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.line))
        super().__init__("\n".join(str(p) for p in self.problems))
