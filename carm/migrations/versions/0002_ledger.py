"""ledger: reference data, declarations, journal, payments, notices

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 (written by alembic --autogenerate from ledger/schema.py, then frozen)
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('business',
    sa.Column('bn9', sa.String(length=9), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=2), server_default='en', nullable=False),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('email_notices', sa.Boolean(), server_default='0', nullable=False),
    sa.CheckConstraint("language IN ('en', 'fr')", name='ck_business_language'),
    sa.CheckConstraint("role IN ('importer', 'broker', 'consultant')", name='ck_business_role'),
    sa.PrimaryKeyConstraint('bn9')
    )
    op.create_table('interest_rate',
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('prescribed_bp', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('effective_from')
    )
    op.create_table('journal_entry',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('entry_date', sa.Date(), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=24), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=True),
    sa.Column('reverses', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['reverses'], ['journal_entry.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_index('ix_journal_entry_date', 'journal_entry', ['entry_date'], unique=False)
    op.create_table('notice',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('notice_date', sa.Date(), nullable=False),
    sa.Column('bn9', sa.String(length=9), nullable=False),
    sa.Column('rm15', sa.String(length=15), nullable=True),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_index('ix_notice_bn9_date', 'notice', ['bn9', 'notice_date'], unique=False)
    op.create_table('period_close',
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('period')
    )
    op.create_table('posted_file',
    sa.Column('file_digest', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payments', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('file_digest')
    )
    op.create_table('licensed_broker',
    sa.Column('bn9', sa.String(length=9), nullable=False),
    sa.Column('licence', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), server_default='1', nullable=False),
    sa.ForeignKeyConstraint(['bn9'], ['business.bn9'], ),
    sa.PrimaryKeyConstraint('bn9')
    )
    op.create_table('payment',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('fi', sa.String(length=40), nullable=False),
    sa.Column('trace', sa.String(length=30), nullable=False),
    sa.Column('file_digest', sa.String(length=64), nullable=False),
    sa.Column('interchange', sa.String(length=9), nullable=False),
    sa.Column('group_control', sa.String(length=9), nullable=False),
    sa.Column('set_control', sa.String(length=9), nullable=False),
    sa.Column('kind', sa.String(length=3), nullable=False),
    sa.Column('method', sa.String(length=3), nullable=False),
    sa.Column('total_cents', sa.BigInteger(), nullable=False),
    sa.Column('payer_bn9', sa.String(length=9), nullable=False),
    sa.Column('payer_asec', sa.String(length=5), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payment_day', sa.Date(), nullable=False),
    sa.Column('verdict', sa.String(length=2), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('suspense_cents', sa.BigInteger(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['journal_entry.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('file_digest', 'interchange', 'group_control', 'set_control', name='uq_payment_source')
    )
    op.create_index('uq_payment_fi_trace', 'payment', ['fi', 'trace'], unique=True, sqlite_where=sa.text("status != 'duplicate'"), postgresql_where=sa.text("status != 'duplicate'"))
    op.create_table('program_account',
    sa.Column('rm15', sa.String(length=15), nullable=False),
    sa.Column('bn9', sa.String(length=9), nullable=False),
    sa.Column('status', sa.String(length=8), server_default='active', nullable=False),
    sa.Column('client_type', sa.String(length=4), nullable=False),
    sa.Column('direct_gst', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('direct_security', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('calendar_month', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.CheckConstraint("status IN ('active', 'inactive')", name='ck_program_account_status'),
    sa.CheckConstraint('NOT (direct_gst AND direct_security)', name='ck_direct_options_exclusive'),
    sa.ForeignKeyConstraint(['bn9'], ['business.bn9'], ),
    sa.PrimaryKeyConstraint('rm15')
    )
    op.create_table('relationship',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('client_bn9', sa.String(length=9), nullable=False),
    sa.Column('provider_bn9', sa.String(length=9), nullable=False),
    sa.Column('scope', sa.String(length=8), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.CheckConstraint("scope IN ('business', 'program')", name='ck_relationship_scope'),
    sa.ForeignKeyConstraint(['client_bn9'], ['business.bn9'], ),
    sa.ForeignKeyConstraint(['provider_bn9'], ['business.bn9'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('security_account',
    sa.Column('asec', sa.String(length=5), nullable=False),
    sa.Column('holder_bn9', sa.String(length=9), nullable=False),
    sa.Column('holder_kind', sa.String(length=12), nullable=False),
    sa.Column('security_cents', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=8), server_default='active', nullable=False),
    sa.CheckConstraint('security_cents >= 0', name='ck_security_amount'),
    sa.ForeignKeyConstraint(['holder_bn9'], ['business.bn9'], ),
    sa.PrimaryKeyConstraint('asec')
    )
    op.create_table('account_balance',
    sa.Column('rm15', sa.String(length=15), nullable=False),
    sa.Column('balance_cents', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['rm15'], ['program_account.rm15'], ),
    sa.PrimaryKeyConstraint('rm15')
    )
    op.create_table('account_period',
    sa.Column('rm15', sa.String(length=15), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('closing_balance_cents', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['rm15'], ['program_account.rm15'], ),
    sa.PrimaryKeyConstraint('rm15', 'period')
    )
    op.create_table('ar_item',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('rm15', sa.String(length=15), nullable=False),
    sa.Column('asec', sa.String(length=5), nullable=True),
    sa.Column('agent_bn9', sa.String(length=9), nullable=True),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('component', sa.String(length=12), nullable=True),
    sa.Column('transaction_number', sa.String(length=14), nullable=True),
    sa.Column('posted_on', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('under_review', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['rm15'], ['program_account.rm15'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_index('ix_ar_item_rm15', 'ar_item', ['rm15'], unique=False)
    op.create_table('declaration',
    sa.Column('transaction_number', sa.String(length=14), nullable=False),
    sa.Column('rm15', sa.String(length=15), nullable=False),
    sa.Column('asec', sa.String(length=5), nullable=True),
    sa.Column('broker_bn9', sa.String(length=9), nullable=True),
    sa.Column('release_date', sa.Date(), nullable=False),
    sa.Column('accounting_date', sa.Date(), nullable=False),
    sa.Column('under_review', sa.Boolean(), server_default='0', nullable=False),
    sa.Column('duty_cents', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('excise_tax_cents', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('gst_cents', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('sima_cents', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('excise_duty_cents', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['rm15'], ['program_account.rm15'], ),
    sa.PrimaryKeyConstraint('transaction_number')
    )
    op.create_table('designated_agent',
    sa.Column('rm15', sa.String(length=15), nullable=False),
    sa.Column('agent_bn9', sa.String(length=9), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['agent_bn9'], ['business.bn9'], ),
    sa.ForeignKeyConstraint(['rm15'], ['program_account.rm15'], ),
    sa.PrimaryKeyConstraint('rm15')
    )
    op.create_table('payment_line',
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('rm15', sa.String(length=15), nullable=False),
    sa.Column('asec', sa.String(length=5), nullable=True),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('applied', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['payment_id'], ['payment.id'], ),
    sa.PrimaryKeyConstraint('payment_id', 'line_no')
    )
    op.create_table('relationship_account',
    sa.Column('relationship_id', sa.String(length=40), nullable=False),
    sa.Column('rm15', sa.String(length=15), nullable=False),
    sa.ForeignKeyConstraint(['relationship_id'], ['relationship.id'], ),
    sa.ForeignKeyConstraint(['rm15'], ['program_account.rm15'], ),
    sa.PrimaryKeyConstraint('relationship_id', 'rm15')
    )
    op.create_table('declaration_adjustment',
    sa.Column('reference', sa.String(length=40), nullable=False),
    sa.Column('transaction_number', sa.String(length=14), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('component', sa.String(length=12), nullable=False),
    sa.Column('amount_cents', sa.BigInteger(), nullable=False),
    sa.Column('adjustment_date', sa.Date(), nullable=False),
    sa.Column('agent_bn9', sa.String(length=9), nullable=True),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.CheckConstraint("kind IN ('reassessment', 'refund')", name='ck_adjustment_kind'),
    sa.CheckConstraint('amount_cents > 0', name='ck_adjustment_amount'),
    sa.ForeignKeyConstraint(['transaction_number'], ['declaration.transaction_number'], ),
    sa.PrimaryKeyConstraint('reference')
    )
    op.create_table('item_balance',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('rm15', sa.String(length=15), nullable=False),
    sa.Column('balance_cents', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['ar_item.id'], ),
    sa.PrimaryKeyConstraint('item_id')
    )
    op.create_index('ix_item_balance_rm15', 'item_balance', ['rm15'], unique=False)
    op.create_table('journal_line',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=12), nullable=False),
    sa.Column('rm15', sa.String(length=15), nullable=True),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('party', sa.String(length=40), nullable=True),
    sa.Column('trace', sa.String(length=30), nullable=True),
    sa.Column('debit_cents', sa.BigInteger(), nullable=False),
    sa.Column('credit_cents', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('(debit_cents > 0 AND credit_cents = 0) OR (credit_cents > 0 AND debit_cents = 0)', name='ck_journal_line_one_side_positive'),
    sa.ForeignKeyConstraint(['entry_id'], ['journal_entry.id'], ),
    sa.ForeignKeyConstraint(['item_id'], ['ar_item.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_journal_line_account_rm15', 'journal_line', ['account', 'rm15'], unique=False)
    op.create_index('ix_journal_line_entry', 'journal_line', ['entry_id'], unique=False)
    op.create_index('ix_journal_line_item', 'journal_line', ['item_id'], unique=False)



def downgrade() -> None:

    op.drop_index('ix_journal_line_item', table_name='journal_line')
    op.drop_index('ix_journal_line_entry', table_name='journal_line')
    op.drop_index('ix_journal_line_account_rm15', table_name='journal_line')
    op.drop_table('journal_line')
    op.drop_index('ix_item_balance_rm15', table_name='item_balance')
    op.drop_table('item_balance')
    op.drop_table('declaration_adjustment')
    op.drop_table('relationship_account')
    op.drop_table('payment_line')
    op.drop_table('designated_agent')
    op.drop_table('declaration')
    op.drop_index('ix_ar_item_rm15', table_name='ar_item')
    op.drop_table('ar_item')
    op.drop_table('account_period')
    op.drop_table('account_balance')
    op.drop_table('security_account')
    op.drop_table('relationship')
    op.drop_table('program_account')
    op.drop_index('uq_payment_fi_trace', table_name='payment', sqlite_where=sa.text("status != 'duplicate'"), postgresql_where=sa.text("status != 'duplicate'"))
    op.drop_table('payment')
    op.drop_table('licensed_broker')
    op.drop_table('posted_file')
    op.drop_table('period_close')
    op.drop_index('ix_notice_bn9_date', table_name='notice')
    op.drop_table('notice')
    op.drop_index('ix_journal_entry_date', table_name='journal_entry')
    op.drop_table('journal_entry')
    op.drop_table('interest_rate')
    op.drop_table('business')

