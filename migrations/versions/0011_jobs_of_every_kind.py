"""jobs of every kind: imports and score snapshot refreshes run on the queue beside the reports

`report_job` may now be an import (into `scope_id`, from the file its uploader named `upload_name`; its
`assessment_id` is the assessment it made, once done) or a snapshot refresh (of `scope_id`'s assessments,
or of every scope's), so `assessment_id` may be empty and the kinds' check takes the two new kinds.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 08:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("report_job", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scope_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("upload_name", sa.String(length=255), nullable=True))
        batch_op.alter_column("assessment_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f("ix_report_job_scope_id"), ["scope_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_report_job_scope_id_scope"), "scope", ["scope_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.drop_constraint("ck_report_job_kind", type_="check")
    with op.batch_alter_table("report_job", schema=None) as batch_op:
        batch_op.create_check_constraint("ck_report_job_kind", "kind IN ('pdf', 'bundle', 'import', 'snapshots')")


def downgrade():
    # The jobs of the new kinds have no place in the old table: they go (their work is done or undone).
    op.execute("DELETE FROM report_job WHERE kind IN ('import', 'snapshots') OR assessment_id IS NULL")
    with op.batch_alter_table("report_job", schema=None) as batch_op:
        batch_op.drop_constraint("ck_report_job_kind", type_="check")
    with op.batch_alter_table("report_job", schema=None) as batch_op:
        batch_op.create_check_constraint("ck_report_job_kind", "kind IN ('pdf', 'bundle')")
        batch_op.drop_constraint(batch_op.f("fk_report_job_scope_id_scope"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_report_job_scope_id"))
        batch_op.alter_column("assessment_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("upload_name")
        batch_op.drop_column("scope_id")
