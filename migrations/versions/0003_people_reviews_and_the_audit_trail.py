"""people, reviews and the audit trail

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 02:23:01.921966

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.String(length=200), nullable=False),
        sa.Column("scope_id", sa.Integer(), nullable=True),
        sa.Column("assessment_id", sa.Integer(), nullable=True),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("seq"),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index("ix_audit_action_at", ["action", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entry_actor"), ["actor"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entry_assessment_id"), ["assessment_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entry_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entry_scope_id"), ["scope_id"], unique=False)
        batch_op.create_index("ix_audit_object", ["object_type", "object_id"], unique=False)

    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('admin', 'lead', 'member', 'auditor')", name="ck_user_role"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "scope_member",
        sa.Column("scope_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["scope_id"], ["scope.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("scope_id", "user_id"),
    )
    with op.batch_alter_table("scope_member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_scope_member_user_id"), ["user_id"], unique=False)

    op.create_table(
        "assessment_share",
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("shared_by", sa.String(length=200), nullable=False),
        sa.Column("shared_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["assessment_id"], ["assessment.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("assessment_id", "user_id"),
    )
    with op.batch_alter_table("assessment_share", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assessment_share_user_id"), ["user_id"], unique=False)

    op.create_table(
        "review_finding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("requirement_id", sa.String(length=64), nullable=False),
        sa.Column("auditor", sa.String(length=200), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(verdict = 'verified' AND severity IS NULL) OR (verdict = 'finding' AND severity IN ('major', 'minor', 'observation'))",
            name="ck_review_severity",
        ),
        sa.CheckConstraint("verdict IN ('verified', 'finding')", name="ck_review_verdict"),
        sa.ForeignKeyConstraint(["assessment_id"], ["assessment.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("assessment_id", "requirement_id", "auditor", name="uq_review_finding"),
    )
    with op.batch_alter_table("review_finding", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_review_finding_assessment_id"), ["assessment_id"], unique=False)

    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("submitted_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("approved_by", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("review_comment", sa.Text(), nullable=True))
        batch_op.drop_constraint("ck_assessment_status", type_="check")
    # "completed" becomes "submitted": it was finished but nobody had approved it.
    op.execute("UPDATE assessment SET status = 'submitted' WHERE status = 'completed'")
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.create_check_constraint(
            "ck_assessment_status", "status IN ('draft', 'submitted', 'returned', 'approved')"
        )


def downgrade():
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.drop_constraint("ck_assessment_status", type_="check")
    op.execute("UPDATE assessment SET status = 'draft' WHERE status = 'returned'")
    op.execute("UPDATE assessment SET status = 'completed' WHERE status IN ('submitted', 'approved')")
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.create_check_constraint("ck_assessment_status", "status IN ('draft', 'completed')")
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.drop_column("review_comment")
        batch_op.drop_column("approved_at")
        batch_op.drop_column("approved_by")
        batch_op.drop_column("submitted_at")
        batch_op.drop_column("submitted_by")

    with op.batch_alter_table("review_finding", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_finding_assessment_id"))

    op.drop_table("review_finding")
    with op.batch_alter_table("assessment_share", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessment_share_user_id"))

    op.drop_table("assessment_share")
    with op.batch_alter_table("scope_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scope_member_user_id"))

    op.drop_table("scope_member")
    op.drop_table("user_account")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_object")
        batch_op.drop_index(batch_op.f("ix_audit_entry_scope_id"))
        batch_op.drop_index(batch_op.f("ix_audit_entry_at"))
        batch_op.drop_index(batch_op.f("ix_audit_entry_assessment_id"))
        batch_op.drop_index(batch_op.f("ix_audit_entry_actor"))
        batch_op.drop_index("ix_audit_action_at")

    op.drop_table("audit_entry")
