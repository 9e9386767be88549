"""improvement check: the day a backlog item's change went live and the service whose metrics checked it

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 16:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('backlog_item') as batch_op:
        batch_op.add_column(sa.Column('live_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('metric_service', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('backlog_item') as batch_op:
        batch_op.drop_column('metric_service')
        batch_op.drop_column('live_on')
