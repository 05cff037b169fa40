"""The application layer, on top of every other package: the `carm` command, the jobs the
Airflow DAGs call, payment intake, documents delivery, the runtime they share, logging, and
the Alembic migrations of the one database (`docs/architecture.md`).

    cli        the `carm` command
    jobs       one function per Airflow task
    intake     one inbound file: claim, archive, validate, acknowledge, post, deliver, file away
    documents  Daily Notices and Statements of Account issued and delivered to their recipients
    runtime    settings → database engine (schema checked), policy, partner folders, registry
    db         migrations (`carm db upgrade`) and the schema check
    logs       structlog set-up
"""
