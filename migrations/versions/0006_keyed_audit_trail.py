"""keyed audit trail: each entry's HMAC under a key kept outside the database

Entries written before this revision keep their public hash chain and get no MAC (NULL); the
first keyed entry is recorded in the instance's checkpoint file, so stripping MACs later is found.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-01 23:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mac', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_column('mac')
