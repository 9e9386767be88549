"""The rules the people and cycle pages apply live in the services, so every caller (a page, the
command line, the API to come) gets the same answer: self-demotion, who may start the next cycle,
which versions it may use, and which assessments compare."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from assessment.extensions import db
from assessment.models import Assessment, FrameworkVersion, Scope, User
from assessment.services import accounts, cycles
from assessment.services.errors import InvalidInput, NotFound
from assessment.services.review import add_member
from tests.integration.helpers import example_version, make_scope, start


def _user(name: str) -> User:
    return db.session.scalar(select(User).where(User.username == name))


def test_nobody_changes_their_own_role_or_disables_themselves(ctx):
    admin = _user("admin")
    with pytest.raises(InvalidInput, match="your own role"):
        accounts.set_role("admin", "member", by=admin)
    with pytest.raises(InvalidInput, match="your own account"):
        accounts.set_disabled("admin", True, by=admin)
    db.session.rollback()
    assert (_user("admin").role, _user("admin").disabled) == ("admin", False)
    # another admin may, and the command line (no `by`) may
    assert accounts.set_role("lead", "member", by=admin).role == "member"
    assert accounts.set_disabled("admin", True).disabled is True


def test_a_user_id_that_does_not_exist_is_not_found(ctx):
    assert accounts.get_user_by_id(_user("alice").id).username == "alice"
    with pytest.raises(NotFound):
        accounts.get_user_by_id(10**6)


def test_who_may_start_the_next_cycle_and_with_which_versions(app, client):
    scope_id = make_scope(client)
    assessment_id = start(client, scope_id, example_version(app))
    with app.app_context():
        assessment = db.session.get(Assessment, assessment_id)
        add_member(db.session.get(Scope, scope_id), "alice")
        db.session.flush()
        rights = {
            name: cycles.may_start_next(_user(name), assessment) for name in ("admin", "lead", "alice", "bob", "audrey")
        }
        assert rights == {"admin": True, "lead": True, "alice": True, "bob": False, "audrey": False}
        versions = cycles.version_choices(assessment)
        assert versions and all(v.framework_id == assessment.framework_version.framework_id for v in versions)
        assert [v.id for v in versions] == sorted((v.id for v in versions), reverse=True)  # newest first
        assert cycles.chosen_version(None) is None
        assert cycles.chosen_version(versions[0].id) is versions[0]
        with pytest.raises(NotFound, match="from the list"):
            cycles.chosen_version(10**6)


def test_only_assessments_of_one_scope_and_one_framework_compare(app, client):
    scope_id, other_scope = make_scope(client), make_scope(client, "Ledger")
    version = example_version(app)
    later = start(client, scope_id, version, as_of="2027-05-21")
    earlier = start(client, scope_id, version, as_of="2026-11-21")
    elsewhere = start(client, other_scope, version)
    with app.app_context():
        get = lambda i: db.session.get(Assessment, i)  # noqa: E731
        before, after = cycles.comparable(get(later), get(earlier))
        assert (before.id, after.id) == (earlier, later)  # in time order, whichever side asked
        assert [a.id for a in cycles.comparison_choices(get(later))] == [earlier]
        with pytest.raises(InvalidInput, match="same scope"):
            cycles.comparable(get(later), get(elsewhere))
        other_framework = db.session.scalar(
            select(FrameworkVersion.id).where(
                FrameworkVersion.framework_id != get(later).framework_version.framework_id
            )
        )
    different = start(client, scope_id, other_framework)
    with app.app_context(), pytest.raises(InvalidInput, match="same framework"):
        cycles.comparable(db.session.get(Assessment, later), db.session.get(Assessment, different))
