"""The migrations and the table definitions describe the same database.

`carm db upgrade` builds the schema from `carm/migrations/versions`; the store reads and
writes it through `store.schema`.  Alembic's autogenerate comparison of the two, on the
migrated database, must find nothing to change — on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from carm.db import current_revision, head_revision
from store.schema import CHECKED_PER_STATEMENT, metadata


def _compared(dialect: str):
    """Everything, except on PostgreSQL the foreign keys it checks per statement (decision L32):
    their triggers are tested in tests/test_references.py."""

    def include(obj, name, type_, reflected, compare_to) -> bool:
        if type_ == "foreign_key_constraint" and dialect == "postgresql":
            return (obj.parent.name, obj.column_keys[0]) not in CHECKED_PER_STATEMENT
        return True

    return include


def test_the_migrated_database_is_exactly_the_table_definitions(engine):
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False,
                                                         "include_object": _compared(conn.dialect.name)})
        differences = compare_metadata(context, metadata)
    assert differences == []
