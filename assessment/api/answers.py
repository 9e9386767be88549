"""/api/v1 answers and evidence: read all, write one, write many (all-or-nothing), files and links.

Declared on resources.bp; each operation asks services/access.py, then calls the service the web page calls.
"""

from __future__ import annotations

from .resources import bp  # noqa: F401
