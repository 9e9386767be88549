"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from assessment.extensions import db


def test_migrations_match_the_models(ctx):
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert diff == []


def test_0007_adds_the_period_and_the_evidence_source_inferring_old_rows_and_goes_back_down(ctx):
    """Evidence stored before 0007 gets its source from what it holds; down to 0006 drops both columns."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect, text

    def columns(table: str) -> set[str]:
        return {c["name"] for c in inspect(db.engine).get_columns(table)}

    db.session.remove()
    downgrade(revision="0006")
    try:
        assert "source" not in columns("evidence") and "period_start" not in columns("assessment")
        with db.engine.begin() as conn:
            scope = conn.execute(
                text(
                    "INSERT INTO scope (name, kind, created_at) VALUES ('Old', 'team', CURRENT_TIMESTAMP) RETURNING id"
                )
            ).scalar()
            for title, url, sha in (("A file", None, "ab" * 32), ("A link", "https://a.example/x", None)):
                conn.execute(
                    text(
                        "INSERT INTO evidence (scope_id, title, url, sha256, created_by, created_at) "
                        "VALUES (:s, :t, :u, :h, 'old', CURRENT_TIMESTAMP)"
                    ),
                    {"s": scope, "t": title, "u": url, "h": sha},
                )
    finally:
        upgrade()
    assert "source" in columns("evidence") and "period_start" in columns("assessment")
    with db.engine.connect() as conn:
        sources = dict(conn.execute(text("SELECT title, source FROM evidence")).all())
        periods = conn.execute(text("SELECT count(*) FROM assessment WHERE period_start IS NOT NULL")).scalar()
    assert sources == {"A file": "upload", "A link": "link"} and periods == 0


def test_0008_adds_the_second_factor_and_its_recovery_codes_and_goes_back_down(ctx):
    """Accounts from before 0008 have no second factor; down to 0007 drops the columns and the table."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect, text

    def columns(table: str) -> set[str]:
        return {c["name"] for c in inspect(db.engine).get_columns(table)}

    totp = {"totp_secret", "totp_enabled_at", "totp_last_step"}
    db.session.remove()
    downgrade(revision="0007")
    try:
        assert not totp & columns("user_account") and "mfa_recovery_code" not in inspect(db.engine).get_table_names()
    finally:
        upgrade()
    assert totp <= columns("user_account") and "mfa_recovery_code" in inspect(db.engine).get_table_names()
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM user_account WHERE totp_secret IS NOT NULL")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM user_account")).scalar() > 0


def test_0009_adds_the_single_sign_on_identity_and_goes_back_down(ctx):
    """Accounts from before 0009 are local (no issuer, subject or address); one account per issuer and subject;
    down to 0008 drops the columns and their index."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect, text
    from sqlalchemy.exc import IntegrityError

    def columns() -> set[str]:
        return {c["name"] for c in inspect(db.engine).get_columns("user_account")}

    added = {"email", "sso_issuer", "sso_subject"}
    db.session.remove()
    downgrade(revision="0008")
    try:
        assert not added & columns()
    finally:
        upgrade()
    assert added <= columns()
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM user_account WHERE sso_issuer IS NOT NULL")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM user_account")).scalar() > 0
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE user_account SET sso_issuer = 'https://id.example', sso_subject = 's1' WHERE username = 'alice'"
            )
        )
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(
            text("UPDATE user_account SET sso_issuer = 'https://id.example', sso_subject = 's1' WHERE username = 'bob'")
        )


def test_0011_lets_a_job_be_an_import_or_a_snapshot_refresh_and_goes_back_down(ctx):
    """After 0011 a job may name a scope and no assessment, and be of the two new kinds (a third kind is still
    refused); down to 0010 removes those jobs with the columns, and keeps the report jobs."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect, text
    from sqlalchemy.exc import IntegrityError

    def columns() -> set[str]:
        return {c["name"] for c in inspect(db.engine).get_columns("report_job")}

    db.session.remove()
    with db.engine.begin() as conn:
        scope = conn.execute(
            text("INSERT INTO scope (name, kind, created_at) VALUES ('M', 'team', CURRENT_TIMESTAMP) RETURNING id")
        ).scalar()
        conn.execute(
            text(
                "INSERT INTO report_job (kind, scope_id, upload_name, fingerprint, status, progress, requested_by, "
                "attempts, created_at) VALUES ('import', :scope, 'a.zip', 'f', 'queued', 0, 'alice', 0, "
                "CURRENT_TIMESTAMP)"
            ),
            {"scope": scope},
        )
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO report_job (kind, fingerprint, status, progress, requested_by, attempts, created_at) "
                "VALUES ('mining', 'f', 'queued', 0, 'x', 0, CURRENT_TIMESTAMP)"
            )
        )
    downgrade(revision="0010")
    try:
        assert not {"scope_id", "upload_name"} & columns()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM report_job")).scalar() == 0
    finally:
        upgrade()
    assert {"scope_id", "upload_name"} <= columns()


def test_0012_adds_the_api_tokens_and_goes_back_down(ctx):
    """Before 0012 there is no token table; up again it is empty, and one hash names at most one token."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect, text
    from sqlalchemy.exc import IntegrityError

    db.session.remove()
    downgrade(revision="0011")
    try:
        assert "api_token" not in inspect(db.engine).get_table_names()
    finally:
        upgrade()
    assert "api_token" in inspect(db.engine).get_table_names()
    insert = text(
        "INSERT INTO api_token (user_id, name, token_hash, read_only, created_at) "
        "SELECT id, 'ci', :h, false, CURRENT_TIMESTAMP FROM user_account WHERE username = 'alice'"
    )
    with db.engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM api_token")).scalar() == 0
        conn.execute(insert, {"h": "ab" * 32})
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(insert, {"h": "ab" * 32})


def test_0018_keeps_a_sessions_id_token_and_goes_back_down(ctx):
    """Sessions from before 0018 keep no ID token (their sign-out stays here); down to 0017 drops the column."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import inspect

    def columns() -> set[str]:
        return {c["name"] for c in inspect(db.engine).get_columns("user_session")}

    db.session.remove()
    downgrade(revision="0017")
    try:
        assert "id_token" not in columns()
    finally:
        upgrade()
    assert "id_token" in columns()
