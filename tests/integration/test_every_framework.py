"""Every shipped framework can be assessed in the app: start, answer on every page, see results and backlog."""

from __future__ import annotations

import pytest

from assessment.services.library import framework_of
from tests.integration.helpers import autosave, make_scope, start
from tests.unit.test_library import EXPECTED

pytestmark = pytest.mark.slow  # every shipped framework, answered in full


@pytest.mark.parametrize("framework_id", sorted(EXPECTED))
def test_assess_a_shipped_framework(app, client, framework_id):
    from sqlalchemy import select

    from assessment.extensions import db
    from assessment.models import FrameworkVersion

    with app.app_context():
        version = db.session.scalar(select(FrameworkVersion).where(FrameworkVersion.framework_id == framework_id))
        framework = framework_of(version)
        version_id = version.id
    assessment = start(client, make_scope(client, f"Team {framework_id}"), version_id)
    for index, domain in enumerate(framework.domains):
        page = client.get(f"/assessments/{assessment}/domains/{index}")
        assert page.status_code == 200 and domain.requirements[0].id in page.get_data(as_text=True)
        requirement = domain.requirements[0]
        value = (
            str(requirement.answer.bands[0].max or requirement.answer.bands[0].min or 0)
            if requirement.is_numeric
            else requirement.answer.options[0].value
        )
        response = autosave(client, assessment, requirement.id, value)
        assert response.status_code == 200, response.get_data(as_text=True)
    assert client.get(f"/assessments/{assessment}/results").status_code == 200
    assert client.post(f"/assessments/{assessment}/backlog/generate").status_code == 302
    assert client.get(f"/assessments/{assessment}/backlog").status_code == 200
    assert client.get(f"/assessments/{assessment}/export.zip").status_code == 200
