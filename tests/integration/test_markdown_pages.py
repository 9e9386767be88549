"""A framework's guidance, description and recommendations show as formatting on the questionnaire,
the library and the results, and a hostile framework file brings nothing that runs."""

from __future__ import annotations

import re

from assessment.domain.loader import load_framework_text
from assessment.extensions import db
from assessment.services.library import store_framework
from tests.conftest import EXAMPLES
from tests.integration.helpers import make_scope, start

HOSTILE = "Hostile <script>alert(1)</script> <img src=x onerror=alert(2)> [run](javascript:alert(3))"


def _stored(app) -> int:
    text = (EXAMPLES / "devops-delivery.yaml").read_text()
    text = text.replace(
        "description: Example framework with staged levels, a custom scale and a numeric answer.",
        "description: |\n  The **example** framework.\n\n  " + HOSTILE,
    )
    text = text.replace(
        "        evidence: required\n",
        "        evidence: required\n        guidance: |\n          **Elite**: every push builds.\n\n"
        "          - a pipeline file\n          - a build log\n\n          " + HOSTILE + "\n",
        1,
    )
    text = text.replace(
        "recommendation: Add a pipeline that builds every pushed branch.",
        'recommendation: "Add a *pipeline* that builds every pushed branch."',
    )
    with app.app_context():
        row, _ = store_framework(load_framework_text(text), text, "devops-delivery.yaml")
        db.session.commit()
        return row.id


def _safe(html: str) -> None:
    """The hostile text is there only as escaped text: no script or image tag, no handler, no javascript: link."""
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    tags = re.findall(r"<([a-z][a-z0-9]*)([^>]*)>", html.lower())
    assert not [name for name, a in tags if name == "img" or (name == "script" and "/static/" not in a)]
    assert not [a for _, a in tags if "onerror" in a or "javascript:" in a]


def test_questionnaire_guidance_is_formatted_and_safe(app, client):
    assessment = start(client, make_scope(client), _stored(app), target="3")
    html = client.get(f"/assessments/{assessment}/domains/0").get_data(as_text=True)
    assert "<strong>Elite</strong>: every push builds." in html
    assert "<li>a pipeline file</li>" in html and "**Elite**" not in html
    _safe(html)
    results = client.get(f"/assessments/{assessment}/results").get_data(as_text=True)
    assert "Add a <em>pipeline</em> that builds" in results


def test_library_page_formats_description_guidance_and_recommendation(app, client):
    _stored(app)
    html = client.get("/library/devops-delivery").get_data(as_text=True)
    assert "The <strong>example</strong> framework." in html
    assert "<strong>Elite</strong>: every push builds." in html
    assert "Add a <em>pipeline</em> that builds" in html
    _safe(html)
