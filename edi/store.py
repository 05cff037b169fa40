"""What the EDI layer keeps between runs: control numbers, files seen, answers sent.

* `edi_control_sequence` — the per-partner sequences of outbound ISA13 and
  GS06 (820 guide: "interchange/group control numbers from a persistent
  per-partner sequence").  Incremented atomically in the database, so two
  workers never hand out the same number.
* `edi_inbound_interchange` — (sender, ISA13) of every interchange received,
  with the file it came in: a second file reusing a control number gets TA1 025.
* `edi_outbound_document` — every acknowledgement written, keyed by the
  inbound file's digest: a file received twice gets the same bytes back.
* `trading_partner` — the registry of FIs, brokers and importers exchanging files
  (`carm partners load`): SFTP account, ISA/GS sender IDs, BN9, language.
* `edi_inbound_file` — every file taken from a partner's inbox: digest, partner,
  name, receipt time, where its original bytes are archived, and its fate
  (processed or quarantined, with the reason).

Tables are SQLAlchemy Core; the schema is created by the Alembic migrations
in `carm/migrations` (`carm db upgrade`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    select,
)

from carm.db import insert_for

__all__ = ["metadata", "ControlNumbers", "AckArchive", "MAX_CONTROL_NUMBER"]

metadata = MetaData()

control_sequence = Table(
    "edi_control_sequence",
    metadata,
    Column("partner", String(40), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("last_value", BigInteger, nullable=False),
    PrimaryKeyConstraint("partner", "kind"),
)

inbound_interchange = Table(
    "edi_inbound_interchange",
    metadata,
    Column("sender", String(40), nullable=False),
    Column("control_number", String(9), nullable=False),
    Column("file_digest", String(64), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("sender", "control_number"),
)

outbound_document = Table(
    "edi_outbound_document",
    metadata,
    Column("file_digest", String(64), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("name", String(200), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("file_digest", "kind"),
)

inbound_file = Table(
    "edi_inbound_file",
    metadata,
    Column("file_digest", String(64), primary_key=True),
    Column("partner", String(40), nullable=False),
    Column("name", String(200), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("archive_path", String(400), nullable=False),
    Column("status", String(12), nullable=False),  # received | processed | quarantined
    Column("reason", String(400)),
    Column("exit_code", Integer),
    Column("processed_at", DateTime(timezone=True)),
)

trading_partner = Table(
    "trading_partner",
    metadata,
    Column("partner_id", String(40), primary_key=True),
    Column("role", String(10), nullable=False),
    Column("name", String(200), nullable=False),
    Column("language", String(2), nullable=False),
    Column("sftp_user", String(32), nullable=False, unique=True),
    Column("public_keys", String(4000), nullable=False),
    Column("isa_qualifier", String(2), nullable=False),
    Column("isa_sender_id", String(15), nullable=False),
    Column("gs_sender_code", String(15), nullable=False),
    Column("business_number", String(9), nullable=False),
    Column("security_account", String(5), nullable=False),
)

#: ISA13 is 9 digits; GS06 up to 9.  Sequences wrap past this to 1.
MAX_CONTROL_NUMBER = 999_999_999


class ControlNumbers:
    """Per-partner outbound control numbers, persistent and atomic."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def next(self, partner: str, kind: str) -> int:
        """The next number of `kind` (`ISA`, `GS`) for `partner`, starting at 1."""
        insert = insert_for(self._conn)
        stmt = insert(control_sequence).values(partner=partner, kind=kind, last_value=1)
        stmt = stmt.on_conflict_do_update(
            index_elements=["partner", "kind"],
            set_={"last_value": control_sequence.c.last_value % MAX_CONTROL_NUMBER + 1},
        ).returning(control_sequence.c.last_value)
        return int(self._conn.execute(stmt).scalar_one())


class AckArchive:
    """Interchanges received and acknowledgements sent, for replays and TA1 025."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def documents(self, digest: str) -> dict[str, tuple[str, bytes]]:
        rows = self._conn.execute(
            select(outbound_document.c.kind, outbound_document.c.name, outbound_document.c.content)
            .where(outbound_document.c.file_digest == digest)
            .order_by(outbound_document.c.sequence)
        )
        return {row.kind: (row.name, bytes(row.content)) for row in rows}

    def save_document(self, digest: str, kind: str, name: str, content: bytes, sequence: int, when: datetime) -> None:
        self._conn.execute(
            outbound_document.insert().values(
                file_digest=digest, kind=kind, name=name, content=content, sequence=sequence, created_at=when
            )
        )

    def interchange_seen(self, sender: str, control_number: str, digest: str) -> str | None:
        """The digest of another file that already brought (sender, ISA13), or None."""
        row = self._conn.execute(
            select(inbound_interchange.c.file_digest).where(
                inbound_interchange.c.sender == sender, inbound_interchange.c.control_number == control_number
            )
        ).first()
        if row is None or row.file_digest == digest:
            return None
        return row.file_digest

    def record_interchange(self, sender: str, control_number: str, digest: str, when: datetime) -> None:
        insert = insert_for(self._conn)
        self._conn.execute(
            insert(inbound_interchange)
            .values(sender=sender, control_number=control_number, file_digest=digest, received_at=when)
            .on_conflict_do_nothing()
        )
