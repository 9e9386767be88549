"""release reviews: a team's answers to a production deployment's checklist, and the backlog item it became

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 16:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('release_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope_id', sa.Integer(), nullable=False),
    sa.Column('service', sa.String(length=200), nullable=False),
    sa.Column('deployment_id', sa.String(length=200), nullable=False),
    sa.Column('went_better', sa.Text(), nullable=False),
    sa.Column('went_worse', sa.Text(), nullable=False),
    sa.Column('one_change', sa.Text(), nullable=False),
    sa.Column('backlog_item_id', sa.Integer(), nullable=True),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['backlog_item_id'], ['backlog_item.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['scope_id'], ['scope.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('scope_id', 'deployment_id', name='uq_release_review_deployment')
    )


def downgrade():
    op.drop_table('release_review')
