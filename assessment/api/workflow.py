"""/api/v1 review, backlog, reports (as jobs) and the audit trail.

Declared on resources.bp; each operation asks services/access.py, then calls the service the web page calls.
"""

from __future__ import annotations

from .resources import bp  # noqa: F401
