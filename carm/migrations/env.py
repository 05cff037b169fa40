"""Alembic environment: runs on the connection `carm.db.upgrade` hands it."""

from alembic import context
from sqlalchemy import MetaData, create_engine

config = context.config
connection = config.attributes.get("connection")


def _target_metadata() -> MetaData:
    """Both layers' tables, for `alembic revision --autogenerate` (migrations are written out, not derived)."""
    from edi.store import metadata as edi_metadata
    from ledger.schema import metadata as ledger_metadata

    combined = MetaData()
    for source in (edi_metadata, ledger_metadata):
        for table in source.tables.values():
            table.to_metadata(combined)
    return combined

if connection is None:  # `alembic` run by hand with -x url=...
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    with create_engine(url).begin() as conn:
        context.configure(connection=conn, target_metadata=_target_metadata())
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=_target_metadata())
    with context.begin_transaction():
        context.run_migrations()
