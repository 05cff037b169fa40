"""Database plumbing: one way to make an engine, one way to upsert, one way to insert in bulk.

SQLite (the embedded default) gets WAL, foreign keys and a generous busy timeout;
PostgreSQL a pre-pinged pool.  The schema itself is the store's (`store.schema`) and
its migrations the application's (`carm.db`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain

from sqlalchemy import (
    ARRAY,
    Boolean,
    ColumnElement,
    Connection,
    Engine,
    Executable,
    Result,
    String,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    create_engine,
    event,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import NullType, TypeEngine

__all__ = ["make_engine", "insert_for", "insert_rows", "sqlite_values", "chunks", "array_literal", "array_type", "AmongValues", "Writes"]


def make_engine(url: str, *, pool_size: int = 5, max_overflow: int = 10) -> Engine:
    """The engine of `url`. On PostgreSQL, `pool_size` + `max_overflow` is the most connections this
    process opens at once: what bounds the server's connections across Airflow workers (decision O22).
    SQLite is a file (or memory), whose connections cost no server anything: its default pool stays."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=60000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow)


def insert_for(conn: Connection):
    """The dialect's `insert` (with `on_conflict_do_update/nothing`): PostgreSQL or SQLite."""
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert


def insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence]) -> None:
    """Insert `rows` (tuples of the `columns`' values) into `table` in bulk, in the caller's transaction.

    On PostgreSQL with COPY: one stream, where psycopg's `executemany` sends a statement per row
    (a round trip each).  On SQLite a hundred rows a statement (`sqlite_values`, decision L34),
    without SQLAlchemy's per-row parameter handling — only the columns whose type converts its
    values (dates) are converted here."""
    if not rows:
        return
    quote = conn.dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    if conn.dialect.name != "postgresql":
        sqlite_values(conn, f"INSERT INTO {quote(table.name)} ({names})", len(columns), _bound(conn, table, columns, rows))
        return
    statement = f"COPY {quote(table.name)} ({names}) FROM STDIN"
    dbapi = conn.dialect.loaded_dbapi
    try:
        with conn.connection.dbapi_connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except dbapi.Error as error:  # raised as SQLAlchemy raises a statement's: IntegrityError, as an insert's would
        raise DBAPIError.instance(statement, None, error, dbapi.Error) from error


#: Rows per SQLite statement (`sqlite_values`): each step of a statement costs the driver about as much as
#: binding a row's values; 100 rows a statement took 1.4 µs a row against 2.3 one at a time (9 columns).
SQLITE_ROWS_PER_STATEMENT = 100


def sqlite_values(conn: Connection, head: str, width: int, rows: Sequence[Sequence], tail: str = "") -> None:
    """`head VALUES (…), (…) … tail` over `rows` (each of `width` values) on SQLite: one prepared statement
    of `SQLITE_ROWS_PER_STATEMENT` rows run over them (multi-row inserts, decision L34), the rest in one
    more.  In the rows' order: a table numbering its rows numbers them so.  A statement holds at most
    999 values, what a SQLite before 3.32 takes."""
    per = max(1, min(SQLITE_ROWS_PER_STATEMENT, 999 // width))
    whole = len(rows) - len(rows) % per
    one = "(" + ", ".join("?" * width) + ")"
    if whole:
        flat = tuple(chain.from_iterable(rows[:whole]))
        step = per * width
        conn.exec_driver_sql(f"{head} VALUES {', '.join([one] * per)} {tail}",
                             [flat[start:start + step] for start in range(0, len(flat), step)])
    if whole < len(rows):
        rest = rows[whole:]
        conn.exec_driver_sql(f"{head} VALUES {', '.join([one] * len(rest))} {tail}", tuple(chain.from_iterable(rest)))


def _bound(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence]) -> list:
    """`rows` as the driver takes them: each value through its column type's bind processor, if it has one —
    except a boolean's, which turns True into 1: the driver stores a bool as the integer it is."""
    dialect = conn.dialect
    processors = [(n, p) for n, c in enumerate(columns)
                  if not isinstance(table.c[c].type, Boolean) and (p := table.c[c].type.dialect_impl(dialect).bind_processor(dialect))]
    if not processors:
        return rows
    bound = []
    for row in rows:
        values = list(row)
        for n, process in processors:
            if values[n] is not None:
                values[n] = process(values[n])
        bound.append(tuple(values))
    return bound


def chunks(values: Sequence, size: int = 1000) -> Iterator[Sequence]:
    """`values` a `size` at a time: the lists a query takes as one expanding parameter stay short
    (a statement of tens of thousands of parameters costs SQLite tens of MiB to parse)."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def array_literal(values: Sequence[int | str | bool | None]) -> str:
    """`values` (integers, booleans, text, None) as one PostgreSQL array literal, for a parameter cast to an
    array type (`CAST(:p AS BIGINT[])`): psycopg adapts a list element by element in Python (a statement
    of three lists of 5,000: 10.0 ms of client CPU, 1.7 ms as literals).  Text is always quoted,
    its backslashes and double quotes escaped; None is NULL."""
    if all(type(v) is int for v in values):
        return "{" + ",".join(map(str, values)) + "}"
    return "{" + ",".join(map(_element, values)) + "}"


def _element(value: int | str | bool | None) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if type(value) is int:
        return str(value)
    if type(value) is bool:
        return "t" if value else "f"
    raise TypeError(f"array_literal takes integers, booleans, text and None, not {type(value).__name__}")


def array_type(column_type: TypeEngine) -> TypeEngine:
    """The array type an `array_literal` of a column's values is cast to: text of any length for a
    column of bounded text.  PostgreSQL cuts a value cast to `VARCHAR(n)` to n characters without a
    word; cast to text, a value too long for its column is refused when it is written there
    (`value too long`), as COPY refused it, and a key too long to exist matches nothing."""
    return ARRAY(Text() if isinstance(column_type, String) else column_type)


class AmongValues:
    """A statement whose rows are those with a column among a list of values, built once for each
    database: SQLite takes the list as an expanding parameter, a thousand values at a time
    (`chunks`); PostgreSQL as one array literal (`column = ANY(CAST(:values AS type[]))`) — one
    statement whatever the list's length, where an expanding list of 1,000 values is rendered,
    sent and parsed as 1,000 parameters on every execution.

    `build(among)` makes the statement, `among(column)` being the membership condition."""

    def __init__(self, build: Callable[[Callable[[ColumnElement], ColumnElement]], Executable]) -> None:
        self._sqlite = build(lambda column: column.in_(bindparam("values", expanding=True)))
        # the literal sent untyped and cast once: a parameter typed text and cast to an array is cast again
        # for every row the planner filters (a sequential scan of 67 s for 20,000 keys among 20,000 items)
        self._postgresql = build(lambda column: column == any_(cast(bindparam("values", type_=NullType()), array_type(column.type))))

    def execute(self, conn: Connection, values: Iterable, params: dict | None = None) -> Iterator[Result]:
        """The results of the statement over `values` (one on PostgreSQL, one per chunk on SQLite; none for no values)."""
        values = list(values)
        if not values:
            return
        if conn.dialect.name == "postgresql":
            yield conn.execute(self._postgresql, {**(params or {}), "values": array_literal(values)})
            return
        for chunk in chunks(values):
            yield conn.execute(self._sqlite, {**(params or {}), "values": list(chunk)})


class Writes:
    """The posting path's bulk writes, in the caller's transaction: on PostgreSQL sent without waiting
    for them (psycopg's pipeline mode, decision L33), so the server writes one part of a payment
    while this process plans the next; on SQLite, in-process, executed at once.

    `insert` writes rows (PostgreSQL: one `INSERT … SELECT FROM unnest(…)` of array literals, in the
    rows' order — COPY cannot be pipelined); `send` a statement of the caller's (PostgreSQL only).
    Whatever the connection executes through SQLAlchemy first waits for what was sent (a listener on
    the connection), so every read sees every write before it; `close` waits, and a failed write
    raises there — as SQLAlchemy's own error for the statement (`IntegrityError`…) — at the latest.
    Use it as a context manager: leaving it on an exception leaves the connection usable for the
    caller's rollback."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.postgresql = conn.dialect.name == "postgresql"
        self._pipeline = self._cursor = None
        self._sent: list[str] = []
        if self.postgresql:
            event.listen(conn, "before_cursor_execute", self._before_statement)

    def __enter__(self) -> Writes:
        return self

    def __exit__(self, kind, error, _traceback) -> None:
        self.close(failed=kind is not None)

    def insert(self, table: Table, columns: Sequence[str], rows: Sequence[Sequence]) -> None:
        if not rows:
            return
        if not self.postgresql:
            insert_rows(self.conn, table, columns, rows)
            return
        quote, dialect = self.conn.dialect.identifier_preparer.quote, self.conn.dialect
        arrays = ", ".join(f"CAST(%s AS {array_type(table.c[c].type).compile(dialect)})" for c in columns)
        names = ", ".join(quote(c) for c in columns)
        values = ", ".join(f"u.{quote(c)}" for c in columns)
        # a table numbering its rows (a serial id) numbers them in the rows' order, as COPY did
        ordered = f" WITH ORDINALITY AS u({names}, n) ORDER BY u.n" if table.autoincrement_column is not None else f" AS u({names})"
        self.send(f"INSERT INTO {quote(table.name)} ({names}) SELECT {values} FROM unnest({arrays}){ordered}",
                  [array_literal(column) for column in zip(*rows, strict=True)])

    def send(self, statement: str, params: Sequence) -> None:
        """Send `statement` (psycopg placeholders, `%s`) with `params`; its end is waited for later."""
        if self._pipeline is None:
            dbapi_connection = self.conn.connection.dbapi_connection
            self._pipeline = dbapi_connection.pipeline()
            self._pipeline.__enter__()
            self._cursor = dbapi_connection.cursor()
        self._sent.append(statement)
        self._cursor.execute(statement, params)

    def wait(self) -> None:
        """Until every statement sent has been executed (raising the first one's error, if any)."""
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is None:
            return
        sent, self._sent = self._sent, []
        dbapi = self.conn.dialect.loaded_dbapi
        try:
            pipeline.__exit__(None, None, None)
        except dbapi.Error as error:
            raise DBAPIError.instance("; ".join(dict.fromkeys(sent)), None, error, dbapi.Error) from error
        finally:
            self._cursor.close()

    def close(self, *, failed: bool = False) -> None:
        if self.postgresql and event.contains(self.conn, "before_cursor_execute", self._before_statement):
            event.remove(self.conn, "before_cursor_execute", self._before_statement)
        if not failed:
            self.wait()
            return
        try:
            self.wait()
        except DBAPIError:
            pass  # the caller's error goes on; its transaction is rolled back

    def _before_statement(self, *_args) -> None:
        self.wait()
