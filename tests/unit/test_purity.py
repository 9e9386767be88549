"""The domain core stays pure: no module of assessment/domain imports Flask, SQLAlchemy or WeasyPrint.
The services take what they need as arguments: none looks for the application through `current_app`."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import assessment.domain
import assessment.services

FORBIDDEN = ("flask", "flask_sqlalchemy", "flask_wtf", "sqlalchemy", "weasyprint", "wtforms")
DOMAIN_DIR = Path(assessment.domain.__file__).parent
SERVICES_DIR = Path(assessment.services.__file__).parent
CURRENT_APP_ALLOWED = {"audit.py"}  # the trail's actor and key; its own change will pass them in


def imported_modules(source: str) -> set[str]:
    """Top-level names of every module a Python source imports."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_domain_module_imports_the_web_stack():
    modules = sorted(DOMAIN_DIR.rglob("*.py"))  # the delivery package's modules too
    assert len(modules) >= 6 and any(m.parent.name == "delivery" for m in modules)
    offenders = {
        str(m.relative_to(DOMAIN_DIR)): sorted(imported_modules(m.read_text()) & set(FORBIDDEN)) for m in modules
    }
    assert {name: bad for name, bad in offenders.items() if bad} == {}


def test_importing_the_domain_loads_none_of_the_web_stack():
    """Not even indirectly, through a relative import of a package that does."""
    names = [
        "assessment.domain." + ".".join(m.relative_to(DOMAIN_DIR).with_suffix("").parts)
        for m in DOMAIN_DIR.rglob("*.py")
        if m.stem != "__init__"
    ]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_checker_would_notice_an_import():
    assert "flask" in imported_modules("from flask import Flask\n")
    assert "sqlalchemy" in imported_modules("import sqlalchemy.orm as orm\n")


def uses_current_app(source: str) -> bool:
    """Whether a Python source names Flask's `current_app` (imported, or as `flask.current_app`)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.alias) and node.name.split(".")[-1] == "current_app":
            return True
        if isinstance(node, ast.Name) and node.id == "current_app":
            return True
        if isinstance(node, ast.Attribute) and node.attr == "current_app":
            return True
    return False


def test_no_service_looks_for_the_application():
    """Use cases, read models and adapters alike take the application (or what they need of it) as arguments."""
    folders = [SERVICES_DIR, SERVICES_DIR.parent / "readmodels", SERVICES_DIR.parent / "adapters"]
    modules = sorted(m for folder in folders for m in folder.glob("*.py"))
    offenders = [m.name for m in modules if m.name not in CURRENT_APP_ALLOWED and uses_current_app(m.read_text())]
    assert offenders == []
    assert {"reports.py", "report_jobs.py", "trends.py"} <= {m.name for m in modules}  # the checker saw them all


def test_services_are_sorted_by_kind():
    """Use cases in services/, read models in readmodels/, adapters in adapters/ (STYLE: a newcomer finds
    each kind in one folder)."""
    package = SERVICES_DIR.parent
    names = {
        folder: {m.stem for m in (package / folder).glob("*.py")} - {"__init__"}
        for folder in ("services", "readmodels", "adapters")
    }
    assert names["readmodels"] == {
        "dashboard", "trends", "history", "snapshots", "inbox", "jobs", "score_documents", "release_reviews",
        "delivery_metrics",
    }  # fmt: skip
    assert names["adapters"] == {
        "background",
        "blob_copy",
        "blobs",
        "data_jobs",
        "evidence_store",
        "filetypes",
        "job_state",
        "oidc",
        "readiness",
        "report_jobs",
        "trail_anchor",
    }
    assert not names["services"] & (names["readmodels"] | names["adapters"])


def test_building_reports_imports_no_flask():
    """services/reports.py builds reports and answers for jobs from the database alone; the runner has the app."""
    source = (SERVICES_DIR / "reports.py").read_text()
    assert "flask" not in imported_modules(source)


def test_the_checker_would_notice_current_app():
    assert uses_current_app("from flask import current_app\n")
    assert uses_current_app("import flask\nflask.current_app.config\n")
    assert not uses_current_app("from flask import Flask\ndef f(app: Flask):\n    return app.config\n")


def _package_imports(path: Path) -> set[str]:
    """The assessment sub-packages a module imports relatively (`from ..views.x import y` gives "views")."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 2 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("assessment."):
            names.add(node.module.split(".")[1])
    return names


def test_the_api_and_the_views_do_not_know_each_other():
    """Both edges call the same services and share what they send from assessment/downloads.py; neither imports
    the other (STYLE.md), so one can change without the other."""
    package = SERVICES_DIR.parent
    for edge, other in (("api", "views"), ("views", "api")):
        for module in sorted((package / edge).glob("*.py")):
            assert other not in _package_imports(module), f"{edge}/{module.name} imports {other}/"
