"""delivery events of a scope: the spec's events kept once per type and id, with what the metrics select by; events upload jobs

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 15:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('delivery_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('event_id', sa.String(length=200), nullable=False),
    sa.Column('service', sa.String(length=200), nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('batch', sa.String(length=64), nullable=False),
    sa.Column('added_by', sa.String(length=200), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("source IN ('upload', 'api', 'github', 'gitlab')", name='ck_delivery_event_source'),
    sa.ForeignKeyConstraint(['scope_id'], ['scope.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('scope_id', 'kind', 'event_id', name='uq_delivery_event_id')
    )
    with op.batch_alter_table('delivery_event', schema=None) as batch_op:
        batch_op.create_index('ix_delivery_event_scope_service', ['scope_id', 'service'], unique=False)
    # an events file uploaded on the web is read by a job on the queue, like an import
    with op.batch_alter_table("report_job", schema=None) as batch_op:
        batch_op.drop_constraint("ck_report_job_kind", type_="check")
    with op.batch_alter_table("report_job", schema=None) as batch_op:
        batch_op.create_check_constraint(
            "ck_report_job_kind", "kind IN ('pdf', 'bundle', 'import', 'snapshots', 'events')"
        )


def downgrade():
    op.execute("DELETE FROM report_job WHERE kind = 'events'")
    with op.batch_alter_table("report_job", schema=None) as batch_op:
        batch_op.drop_constraint("ck_report_job_kind", type_="check")
    with op.batch_alter_table("report_job", schema=None) as batch_op:
        batch_op.create_check_constraint("ck_report_job_kind", "kind IN ('pdf', 'bundle', 'import', 'snapshots')")
    with op.batch_alter_table('delivery_event', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_event_scope_service')
    op.drop_table('delivery_event')
