"""A page that reads scores stores the snapshot it computed even when another process commits while it scores.

Under load (bench/bench_load.py: 50 people on two web workers) the dashboard, the trends and the exports failed
with "database is locked" on SQLite: the snapshot was scored inside the savepoint that stores it, so its
transaction read first and wrote later, and SQLite refuses such a write at once when another connection has
committed in between. The test makes that happen every time: another connection commits while the snapshot
is being scored.
"""

from __future__ import annotations

from sqlalchemy import select, text

from assessment.extensions import db
from assessment.models import Assessment, ScoreSnapshot
from assessment.readmodels import snapshots


def test_a_snapshot_is_stored_when_another_connection_commits_while_it_is_scored(app, devops, monkeypatch):
    assessment_id, scope_id = devops
    scored = snapshots.load_state

    def scored_while_another_commits(assessment, **kwargs):
        state = scored(assessment, **kwargs)
        with db.engine.begin() as other:  # another web worker saving an answer, in its own transaction
            other.execute(text("UPDATE scope SET description = description || '.' WHERE id = :id"), {"id": scope_id})
        return state

    monkeypatch.setattr(snapshots, "load_state", scored_while_another_commits)
    with app.app_context():
        assessment = db.session.get(Assessment, assessment_id)
        figures = snapshots.snapshots_of([assessment])[assessment_id]
        db.session.commit()
        row = db.session.scalar(select(ScoreSnapshot).where(ScoreSnapshot.assessment_id == assessment_id))
        assert row is not None, "the snapshot was not stored"
        assert row.source == assessment.updated_at.isoformat()
        assert (row.score, row.completion) == (figures.score, figures.completion)
