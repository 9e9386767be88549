"""assessment: maturity assessment and governance tracking.

`create_app` is the application factory; `assessment.cli` is the command line; the scoring
engine lives in `assessment.domain` and imports nothing from the web stack, so importing this
package loads no Flask until an application is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application: defaults, then instance/config.py, then the environment."""
    from .app import build_app

    return build_app(test_config)
