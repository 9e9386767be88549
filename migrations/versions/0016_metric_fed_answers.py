"""metric-fed answers: the assessment's delivery service, and each measured answer's provenance and override

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 17:50:00.000000

The evidence source "delivery" (the events snapshot behind measured answers) needs no change of the
schema: evidence.source has no check constraint.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('assessment') as batch_op:
        batch_op.add_column(sa.Column('delivery_service', sa.String(length=200), nullable=True))
    with op.batch_alter_table('answer') as batch_op:
        batch_op.add_column(sa.Column('measured', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('overridden', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('answer') as batch_op:
        batch_op.drop_column('overridden')
        batch_op.drop_column('measured')
    with op.batch_alter_table('assessment') as batch_op:
        batch_op.drop_column('delivery_service')
