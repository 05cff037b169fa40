"""The trading-partner registry in the database (`carm partners load`), like the other reference data."""

from __future__ import annotations

from sqlalchemy import Connection, select

from core.db import insert_for
from transport.partners import Partner, PartnerRegistry

from .schema import trading_partner

__all__ = ["save_registry", "read_registry"]


def save_registry(conn: Connection, registry: PartnerRegistry) -> int:
    """Upsert every partner of `registry` (idempotent); how many."""
    insert = insert_for(conn)
    for p in registry:
        row = {"partner_id": p.partner_id, "role": p.role, "name": p.name, "language": p.language,
               "sftp_user": p.sftp_user, "public_keys": ";".join(p.public_keys), "isa_qualifier": p.isa_qualifier,
               "isa_sender_id": p.isa_sender_id, "gs_sender_code": p.gs_sender_code,
               "business_number": p.business_number, "security_account": p.security_account}
        stmt = insert(trading_partner).values(**row)
        conn.execute(stmt.on_conflict_do_update(index_elements=["partner_id"], set_={k: stmt.excluded[k] for k in row if k != "partner_id"}))
    return len(registry)


def read_registry(conn: Connection) -> PartnerRegistry | None:
    """The registry as loaded, or None when none was ever loaded."""
    rows = conn.execute(select(trading_partner).order_by(trading_partner.c.partner_id)).all()
    if not rows:
        return None
    return PartnerRegistry(
        Partner(partner_id=r.partner_id, role=r.role, name=r.name, language=r.language, sftp_user=r.sftp_user,
                public_keys=tuple(k for k in r.public_keys.split(";") if k), isa_qualifier=r.isa_qualifier,
                isa_sender_id=r.isa_sender_id, gs_sender_code=r.gs_sender_code,
                business_number=r.business_number, security_account=r.security_account)
        for r in rows
    )
