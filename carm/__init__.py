"""The application layer: configuration, database, logging and the `carm` command.

`edi/` and `ledger/` hold the domain; this package wires them to the outside
world (environment, database URL, command line) and holds the Alembic
migrations of the one database both use.
"""
