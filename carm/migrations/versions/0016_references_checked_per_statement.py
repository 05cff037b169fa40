"""PostgreSQL checks the references of the posting path's rows once per statement, not once per row
(decision L32; issue 11, bulk posting, `docs/performance.md`).

A foreign key checks each inserted row with a query of its own, which locks the row it names
(`FOR KEY SHARE`): for a payment of 10,000 lines, 10,000 queries and locks on `ar_item`, 10,000
on one `journal_entry` row, 10,000 on one `payment` row — more server CPU than the rows' own
writing. Here `journal_line` (its entry, its item) and `payment_line` (its payment) lose those
per-row foreign keys and get, instead, a trigger run once per statement over the statement's new
rows (a transition table): one anti-join, and the statement fails with `foreign_key_violation`
(SQLSTATE 23503, as the foreign key did) if a row names an entry, item or payment that does not
exist. The lock the foreign key took kept the named row from being deleted before commit: the
rows named are never deleted — `journal_entry` and `journal_line` are append-only (D17-R18), and
`ar_item` and `payment` rows are the books' history — and triggers now refuse it (and any change
of their ids), so the guarantee holds without a lock per row. Foreign keys stay everywhere else,
and on SQLite, where a row's check is an index look-up in-process.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# (table, column, referenced table): the references checked per statement
REFERENCES = (
    ("journal_line", "entry_id", "journal_entry"),
    ("journal_line", "item_id", "ar_item"),
    ("payment_line", "payment_id", "payment"),
)

_CHECK = """
CREATE FUNCTION carm_{table}_references() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{checks}
  RETURN NULL;
END $$;
CREATE TRIGGER {table}_references AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION carm_{table}_references();
CREATE TRIGGER {table}_references_on_update AFTER UPDATE ON {table} REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION carm_{table}_references();
"""

_ONE_CHECK = """  IF EXISTS (SELECT FROM new_rows n WHERE n.{column} IS NOT NULL
             AND NOT EXISTS (SELECT FROM {target} t WHERE t.id = n.{column})) THEN
    RAISE EXCEPTION '{table}.{column} names no {target} row' USING ERRCODE = 'foreign_key_violation';
  END IF;"""

_KEPT = """
CREATE FUNCTION carm_kept_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% rows are kept: never deleted, their ids never changed (D17-R18)', TG_TABLE_NAME
    USING ERRCODE = 'restrict_violation';
END $$;
"""


def _tables() -> list[str]:
    return sorted({table for table, _, _ in REFERENCES})


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, _ in REFERENCES:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {table}_{column}_fkey")
    for table in _tables():
        checks = "\n".join(_ONE_CHECK.format(table=table, column=column, target=target)
                           for t, column, target in REFERENCES if t == table)
        op.execute(_CHECK.format(table=table, checks=checks))
    op.execute(_KEPT)
    for target in sorted({target for _, _, target in REFERENCES}):
        op.execute(f"CREATE TRIGGER {target}_kept BEFORE DELETE OR UPDATE OF id ON {target} FOR EACH ROW EXECUTE FUNCTION carm_kept_rows()")
        op.execute(f"CREATE TRIGGER {target}_not_truncated BEFORE TRUNCATE ON {target} FOR EACH STATEMENT EXECUTE FUNCTION carm_kept_rows()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for target in sorted({target for _, _, target in REFERENCES}):
        op.execute(f"DROP TRIGGER {target}_not_truncated ON {target}")
        op.execute(f"DROP TRIGGER {target}_kept ON {target}")
    op.execute("DROP FUNCTION carm_kept_rows()")
    for table in _tables():
        op.execute(f"DROP TRIGGER {table}_references_on_update ON {table}")
        op.execute(f"DROP TRIGGER {table}_references ON {table}")
        op.execute(f"DROP FUNCTION carm_{table}_references()")
    for table, column, target in REFERENCES:
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_{column}_fkey FOREIGN KEY ({column}) REFERENCES {target} (id)")
