"""report facts: an assessment's period start, and how each evidence item came in

`assessment.period_start` is the first day of the assessment period (NULL: the 90 days up to the
as-of date). `evidence.source` is upload, link or import; rows written before this revision are
inferred from what they hold (a file was uploaded, a URL alone is a link).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 02:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('period_start', sa.Date(), nullable=True))
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=20), nullable=True))
    op.execute("UPDATE evidence SET source = 'upload' WHERE sha256 IS NOT NULL")
    op.execute("UPDATE evidence SET source = 'link' WHERE sha256 IS NULL AND url IS NOT NULL")


def downgrade():
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_column('source')
    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.drop_column('period_start')
