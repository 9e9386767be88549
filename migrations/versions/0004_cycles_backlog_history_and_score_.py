"""cycles, backlog history and score snapshots

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 02:51:00.246135

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('score_snapshot',
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('score', sa.Double(), nullable=True),
    sa.Column('level', sa.Integer(), nullable=True),
    sa.Column('completion', sa.Double(), nullable=False),
    sa.Column('gaps', sa.Integer(), nullable=False),
    sa.Column('domains', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessment.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('assessment_id')
    )
    op.create_table('backlog_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('hypothesis', sa.Text(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('created', 'changed', 'achieved', 'reopened')", name='ck_backlog_event_kind'),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessment.id'], ),
    sa.ForeignKeyConstraint(['item_id'], ['backlog_item.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('backlog_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_backlog_event_item_id'), ['item_id'], unique=False)

    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('carried_over', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('previous_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_assessment_previous_id'), ['previous_id'], unique=False)
        batch_op.create_foreign_key('fk_assessment_previous_id', 'assessment', ['previous_id'], ['id'])

    with op.batch_alter_table('backlog_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('achieved_on', sa.Date(), nullable=True))



def downgrade():
    with op.batch_alter_table('backlog_item', schema=None) as batch_op:
        batch_op.drop_column('achieved_on')

    with op.batch_alter_table('assessment', schema=None) as batch_op:
        batch_op.drop_constraint('fk_assessment_previous_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_assessment_previous_id'))
        batch_op.drop_column('previous_id')

    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.drop_column('carried_over')

    with op.batch_alter_table('backlog_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_backlog_event_item_id'))

    op.drop_table('backlog_event')
    op.drop_table('score_snapshot')
