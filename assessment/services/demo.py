"""The demo workspace: on an empty instance, a scope with a partly completed assessment."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from ..adapters.evidence_store import EvidenceStore
from ..domain.events import StatusChanged
from ..extensions import db
from ..models import FrameworkVersion, Scope
from . import assessments as svc
from . import evidence as evidence_svc
from .library import framework_of

DEMO_SCOPE = "Payments platform (demo)"
DEMO_USER = "team"

# One account per role. The passwords are public (the README and `make run` print them):
# they are for trying the product on your own machine, never for a shared instance.
DEMO_USERS = (
    ("admin", "Ada Admin", "admin", "admin-demo-pass"),
    ("lead", "Lee Lead", "lead", "lead-demo-pass"),
    ("team", "Tam Team", "member", "team-demo-pass"),
    ("auditor", "Aud Auditor", "auditor", "auditor-demo-pass"),
)

# A plausible team's answers to the DevOps delivery maturity framework, by requirement order:
# the first answers are mostly good, later ones thinner, and the rest left for the newcomer.
_PATTERN = ["yes", "yes", "partial", "yes", "no", "partial", "yes", "na", "partial", "no"]


def load_demo(store: EvidenceStore) -> Scope | None:
    """Create the demo scope and assessment unless the instance already has a scope."""
    if db.session.scalar(select(func.count()).select_from(Scope)):
        return None
    version = db.session.scalar(
        select(FrameworkVersion)
        .where(FrameworkVersion.framework_id == "devops-delivery-maturity")
        .order_by(FrameworkVersion.id.desc())
    )
    if version is None:
        return None
    framework = framework_of(version)
    scope = svc.create_scope(DEMO_SCOPE, "team", "A sample team so the pages have something to show. Delete freely.")
    earlier = _earlier_cycle(scope, version, framework)
    assessment = svc.start_assessment(scope, version, 3, dt.date.today())
    assessment.previous_id = earlier.id
    requirements = framework.requirements
    answered = requirements[: int(len(requirements) * 0.6)]
    for index, requirement in enumerate(answered):
        if requirement.is_numeric:
            raw = str(requirement.answer.bands[1].min if requirement.answer.bands[1].min is not None else 1)
        else:
            options = [o.value for o in requirement.answer.options]
            raw = _PATTERN[index % len(_PATTERN)]
            if raw == "na" and not requirement.na_allowed:
                raw = options[0]
            elif raw not in options and raw != "na":
                raw = options[min(index % len(options), len(options) - 1)]
        note = "Seen in the last quarter's review." if index % 4 == 0 else None
        svc.save_answer(assessment, framework, requirement.id, raw, note, 0, DEMO_USER)
    first = answered[0]
    evidence_svc.add_file(
        store,
        assessment,
        first.id,
        _demo_file(),
        "pipeline.yml",
        "Pipeline definition",
        dt.date.today() - dt.timedelta(days=30),
        None,
        DEMO_USER,
    )
    evidence_svc.add_link(
        assessment,
        answered[1].id,
        "https://wiki.example.com/engineering/branching",
        "Branching policy",
        None,
        dt.date.today() + dt.timedelta(days=20),
        DEMO_USER,
    )
    return scope


def _earlier_cycle(scope: Scope, version: FrameworkVersion, framework):
    """The cycle before, a quarter ago and approved: weaker answers, so trends and comparisons show movement."""
    from ..models import utcnow

    earlier = svc.start_assessment(scope, version, 3, dt.date.today() - dt.timedelta(days=91))
    for index, requirement in enumerate(framework.requirements[: int(len(framework.requirements) * 0.5)]):
        if requirement.is_numeric:
            continue
        options = [o.value for o in requirement.answer.options]
        raw = options[0] if index % 3 == 0 else options[-1]
        svc.save_answer(earlier, framework, requirement.id, raw, None, 0, DEMO_USER)
    earlier.status, earlier.submitted_by, earlier.submitted_at = "approved", DEMO_USER, utcnow()
    earlier.approved_by, earlier.approved_at = "lead", utcnow()
    from . import audit

    audit.emit(earlier, StatusChanged("draft", "approved", approved_by="lead", demo=True))
    return earlier


def _demo_file():
    import io

    return io.BytesIO(b"# Demo pipeline definition\nstages: [build, test, deploy]\n")


def load_demo_users(scope: Scope | None) -> list[tuple[str, str, str]]:
    """Create the demo accounts on an instance without users; give the team member the demo scope
    and share its assessment with the auditor. Returns (user name, role, password) of every demo
    account that still has its demo password."""
    from ..models import User
    from . import accounts, review

    if not db.session.scalar(select(func.count()).select_from(User)):
        people = {
            username: accounts.create_user(username, name, role, password)
            for username, name, role, password in DEMO_USERS
        }
        if scope is not None:
            review.add_member(scope, people["team"].username)
            for assessment in scope.assessments:
                review.share(assessment, people["auditor"].username, "demo")
    still = []
    for username, _name, role, password in DEMO_USERS:
        user = db.session.scalar(select(User).where(User.username == username))
        if user is not None and not user.disabled and accounts.password_matches(user, password):
            still.append((username, accounts.ROLE_LABELS[role], password))
    return still
