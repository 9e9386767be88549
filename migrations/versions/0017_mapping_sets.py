"""mapping sets: imported requirement mappings between frameworks ("answer once, satisfy many")

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 04:05:00.000000

Mappings name frameworks by their id, not a stored version, so a new version keeps its mappings.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'mapping_set',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=500), nullable=False),
        sa.Column('source', sa.String(length=1000), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('imported_by', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'mapping',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('set_id', sa.Integer(), nullable=False),
        sa.Column('source_framework', sa.String(length=63), nullable=False),
        sa.Column('source_requirement', sa.String(length=64), nullable=False),
        sa.Column('target_framework', sa.String(length=63), nullable=False),
        sa.Column('target_requirement', sa.String(length=64), nullable=False),
        sa.Column('relation', sa.String(length=20), nullable=False),
        sa.Column('rationale', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['set_id'], ['mapping_set.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('mapping') as batch_op:
        batch_op.create_index('ix_mapping_set_id', ['set_id'])
        batch_op.create_index('ix_mapping_source_framework', ['source_framework'])
        batch_op.create_index('ix_mapping_target_framework', ['target_framework'])


def downgrade():
    op.drop_table('mapping')
    op.drop_table('mapping_set')
