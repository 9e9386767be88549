"""user_session.id_token: the ID token of a single sign-on session, for the provider's sign-out

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 17:40:00.000000

Signing out of a session opened by single sign-on sends the browser to the provider's end_session_endpoint
with this token as id_token_hint (OpenID Connect RP-Initiated Logout); it is dropped when the session ends.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_session') as batch:
        batch.add_column(sa.Column('id_token', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('user_session') as batch:
        batch.drop_column('id_token')
