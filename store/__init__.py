"""The database: the one place SQL is written.

    schema     every table (SQLAlchemy Core); the migrations in `carm/migrations` create them
    edi        `SqlEdiStore`: the EDI layer's `EdiStore` in the database
    journal    the books: writing plans in bulk (items, entries, lines, caches, notices),
               reading items, histories and balances, proving the books
    ledger     the ledger's operations — read what a rule needs, call the rule, write its plan —
               for payments, declarations, reference data, period close and collections
    suspense   money set aside: applied to an account or returned to the FI, once
    corrections correction requests, reviewed and approved as one adjusting entry (D17-R18)
    standing   the dated records of the measures of D17-R38 and their security claims

Every function takes a SQLAlchemy `Connection` inside the caller's transaction.
"""
