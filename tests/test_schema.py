"""The migrations and the table definitions describe the same database.

`carm db upgrade` builds the schema from `carm/migrations/versions`; the store reads and
writes it through `store.schema`.  Alembic's autogenerate comparison of the two, on the
migrated database, must find nothing to change — on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from carm.db import current_revision, head_revision
from store.schema import metadata


def test_the_migrated_database_is_exactly_the_table_definitions(engine):
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
        differences = compare_metadata(context, metadata)
    assert differences == []
