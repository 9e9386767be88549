"""single sign-on: the OpenID Connect identity of an account, and its e-mail address

`user_account` gets the provider's issuer and subject (unique together: one account per person at a
provider; local accounts have neither) and the e-mail address the provider gives.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 18:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('sso_issuer', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('sso_subject', sa.String(length=255), nullable=True))
        batch_op.create_index('ix_user_account_sso_identity', ['sso_issuer', 'sso_subject'], unique=True)


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_index('ix_user_account_sso_identity')
        batch_op.drop_column('sso_subject')
        batch_op.drop_column('sso_issuer')
        batch_op.drop_column('email')
