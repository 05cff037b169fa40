"""The engine's jobs, one function per Airflow task (the DAG files in `dags/` only call these).

Configuration comes from the environment (embedded defaults in brackets):

* `CARM_HOME` [`./var`] — the embedded default's state: `carm.db`, `partners/`, `archive/`;
* `CARM_DATABASE_URL` [SQLite in `CARM_HOME`] — the ledger (PostgreSQL in production);
* `CARM_TRANSPORT` [`local`] — `local` folders in `CARM_PARTNERS_DIR` [`$CARM_HOME/partners`],
  or `sftp`: from `CARM_SFTP_URL` (+ `CARM_SFTP_KEY`, `CARM_SFTP_KNOWN_HOSTS`, see `carm.sftp`)
  when set, else from the Airflow connection `CARM_SFTP_CONN_ID` [`carm_sftp`];
* `CARM_PARTNERS_FILE` [`fixtures/partners.csv`] — the trading-partner registry (until loaded);
* `CARM_SETTLE_SECONDS` [60] — how long an inbox file must be left alone before it is taken;
* `CARM_POLICY` — policy overrides (`ledger.policy`).

Every job is idempotent: run it again — after a crash, a retry, a replay — and
it finishes what was left and changes nothing that was done.
"""

from __future__ import annotations

import hashlib
import os
import time
from datetime import date, datetime
from pathlib import Path

import structlog
from sqlalchemy import Engine, select, update

from carm import clock, db
from carm.db import insert_for
from carm.partners import PartnerRegistry, load_partners
from carm.transport import PROCESSED, QUARANTINE, InboxFile, LocalFolders, PartnerFolders

__all__ = [
    "engine",
    "transport",
    "registry",
    "pending_files",
    "batches",
    "process_inbound",
    "close_period",
    "run_collections",
    "daily_notices",
    "statements_of_account",
]

log = structlog.get_logger("carm.jobs")


# ------------------------------------------------------------------ wiring
def engine() -> Engine:
    eng = db.make_engine()
    db.upgrade(eng)
    return eng


def transport() -> PartnerFolders:
    kind = os.environ.get("CARM_TRANSPORT", "local")
    if kind == "sftp":
        from carm.sftp import SftpFolders

        if os.environ.get("CARM_SFTP_URL"):
            return SftpFolders.from_env()
        return _sftp_from_airflow_connection(os.environ.get("CARM_SFTP_CONN_ID", "carm_sftp"))
    if kind != "local":
        raise ValueError(f"CARM_TRANSPORT={kind!r}: expected local or sftp")
    return LocalFolders(os.environ.get("CARM_PARTNERS_DIR") or db.home() / "partners")


def _sftp_from_airflow_connection(conn_id: str):
    """The SFTP folders from an Airflow connection (type `sftp`: host, port, login; extra
    `key_file`, `known_hosts`, `no_host_key_check`) — read at task run time through the Task
    SDK (secrets backends, `AIRFLOW_CONN_*`), never at parse time."""
    from airflow.sdk import BaseHook

    from carm.sftp import SftpFolders

    conn = BaseHook.get_connection(conn_id)
    extra = conn.extra_dejson
    if not extra.get("key_file"):
        raise ValueError(f"Airflow connection {conn_id!r} needs extra key_file (the engine's private key)")
    return SftpFolders(
        conn.host,
        int(conn.port or 22),
        conn.login or "carm-engine",
        key_filename=extra["key_file"],
        known_hosts=extra.get("known_hosts"),
        strict_host_key=str(extra.get("no_host_key_check", "false")).lower() not in ("true", "1", "yes"),
    )


def load_registry(conn, path: str | Path) -> tuple[int, list[str]]:
    """`carm partners load FILE`: upsert every valid registry row into `trading_partner`
    (idempotent, like the other reference data); (rows loaded, problems)."""
    from edi.store import trading_partner

    partners, problems = load_partners(path)
    insert = insert_for(conn)
    for p in partners:
        row = {"partner_id": p.partner_id, "role": p.role, "name": p.name, "language": p.language,
               "sftp_user": p.sftp_user, "public_keys": ";".join(p.public_keys), "isa_qualifier": p.isa_qualifier,
               "isa_sender_id": p.isa_sender_id, "gs_sender_code": p.gs_sender_code,
               "business_number": p.business_number, "security_account": p.security_account}
        stmt = insert(trading_partner).values(**row)
        conn.execute(stmt.on_conflict_do_update(index_elements=["partner_id"], set_={k: stmt.excluded[k] for k in row if k != "partner_id"}))
    return len(partners), [str(problem) for problem in problems]


def registry() -> PartnerRegistry:
    """The trading partners: the `trading_partner` table once loaded (`carm partners load`),
    else the registry file `CARM_PARTNERS_FILE` (the embedded default)."""
    from carm.partners import Partner
    from edi.store import trading_partner

    with engine().begin() as conn:
        rows = conn.execute(select(trading_partner).order_by(trading_partner.c.partner_id)).all()
    if rows:
        return PartnerRegistry(
            Partner(partner_id=r.partner_id, role=r.role, name=r.name, language=r.language, sftp_user=r.sftp_user,
                    public_keys=tuple(k for k in r.public_keys.split(";") if k), isa_qualifier=r.isa_qualifier,
                    isa_sender_id=r.isa_sender_id, gs_sender_code=r.gs_sender_code,
                    business_number=r.business_number, security_account=r.security_account)
            for r in rows
        )
    path = os.environ.get("CARM_PARTNERS_FILE", "fixtures/partners.csv")
    partners, problems = load_partners(path)
    for problem in problems:
        log.warning("partners.problem", file=str(path), problem=str(problem))
    return partners


def _policy():
    from ledger.policy import load_policy

    return load_policy()


# ------------------------------------------------------------------ payment intake
def pending_files(now: float | None = None) -> list[dict]:
    """Every file waiting in an FI's inbox, and every file a stopped run had claimed (to resume).

    A file modified less than `CARM_SETTLE_SECONDS` [60] ago is left for the next run: an FI
    whose client uploads under the final name would otherwise have a half-written file taken
    (uploads named `*.part`, `*.tmp`, `*.filepart` are never listed at all)."""
    settle = float(os.environ.get("CARM_SETTLE_SECONDS", "60"))
    now = time.time() if now is None else now
    folders = transport()
    out, settling = [], 0
    for partner in registry():
        if partner.role != "fi":
            continue
        for claimed, files in ((True, folders.claimed(partner.sftp_user)), (False, folders.inbox(partner.sftp_user))):
            for f in files:
                if not claimed and now - f.mtime < settle:
                    settling += 1
                    continue
                out.append({"partner": f.partner, "name": f.name, "size": f.size, "mtime": f.mtime, "claimed": claimed})
    log.info("intake.pending", files=len(out), resumed=sum(1 for f in out if f["claimed"]), still_uploading=settling)
    return out


def batches(files: list[dict], size: int = 20) -> list[list[dict]]:
    """Files grouped for mapped tasks (one task per batch keeps the Airflow UI readable)."""
    return [files[i : i + size] for i in range(0, len(files), size)]


def _archive(data: bytes, digest: str, received_at: datetime) -> Path:
    folder = db.home() / "archive" / received_at.strftime("%Y/%m/%d")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest}.x12"
    if not path.exists():
        temp = folder / f".{digest}.part"
        temp.write_bytes(data)
        temp.replace(path)
    return path


def process_inbound(ref: dict) -> dict:
    """Claim → archive → validate, acknowledge, post → deliver 997/TA1/824 → processed/ or quarantine/.

    Safe to run again at any point: a claimed file is resumed, archiving and
    posting are idempotent on the file digest, delivery on the bytes, moving on
    the name.
    """
    from edi.store import inbound_file
    from ledger.ingest import ingest_file

    folders = transport()
    partner = registry().by_sftp_user(ref["partner"])
    file = InboxFile(ref["partner"], ref["name"], int(ref["size"]), float(ref["mtime"]))
    bound = log.bind(partner=ref["partner"], file=ref["name"])
    if not ref.get("claimed"):
        if folders.claim(file) is None:
            bound.info("intake.taken_by_another_worker")
            return {"partner": ref["partner"], "name": ref["name"], "status": "taken"}
    data = folders.read_claimed(file)
    digest = hashlib.sha256(data).hexdigest()
    received_at = datetime.fromtimestamp(file.mtime, clock.EASTERN)
    bound = bound.bind(digest=digest[:16], size=len(data))
    archived = _archive(data, digest, received_at)
    eng = engine()
    with eng.begin() as conn:
        conn.execute(
            insert_for(conn)(inbound_file)
            .values(file_digest=digest, partner=ref["partner"], name=ref["name"][:200], size=len(data),
                    received_at=received_at, archive_path=str(archived), status="received")
            .on_conflict_do_nothing()
        )
    sender = partner.isa_sender if partner is not None else None
    done = ingest_file(eng, data, ref["name"], received_at=received_at, policy=_policy(), sender=sender)
    outcome = done.outcome
    for kind in ("ta1", "997", "824"):
        if kind in outcome.documents:
            name, content = outcome.documents[kind]
            folders.deliver(ref["partner"], name, content)
    unusable = outcome.exit_code == 2
    reason = "; ".join(outcome.envelope_lines())[:400] if unusable else None
    folder = QUARANTINE if unusable else PROCESSED
    folders.finish(file, folder)
    with eng.begin() as conn:
        conn.execute(
            update(inbound_file)
            .where(inbound_file.c.file_digest == digest)
            .values(status="quarantined" if unusable else "processed", reason=reason, exit_code=outcome.exit_code,
                    processed_at=clock.now())
        )
    eng.dispose()
    summary = {
        "partner": ref["partner"],
        "name": ref["name"],
        "digest": digest,
        "status": folder,
        "reason": reason,
        "exit_code": outcome.exit_code,
        "replayed": outcome.replayed,
        "documents": sorted(name for name, _ in outcome.documents.values()),
        "sets": [s.summary_line() for s in outcome.sets],
        "posted": [{"trace": p.trace, "status": p.status, "applied_cents": p.applied_cents,
                    "credit_cents": p.credit_cents, "suspense_cents": p.suspense_cents} for p in done.posted],
    }
    bound.info("intake.file_done", status=folder, exit_code=outcome.exit_code, reason=reason,
               replayed=outcome.replayed, sets=len(outcome.sets), posted=len(done.posted))
    return summary


def inbound_files(status: str | None = None) -> list[dict]:
    """Operators' view: files received, newest first."""
    from edi.store import inbound_file

    with engine().begin() as conn:
        query = select(inbound_file).order_by(inbound_file.c.received_at.desc())
        if status:
            query = query.where(inbound_file.c.status == status)
        return [dict(r._mapping) for r in conn.execute(query)]


# ------------------------------------------------------------------ period close, collections
def close_period(period: str) -> dict:
    from ledger.close import close_period as close

    with engine().begin() as conn:
        report = close(conn, period, policy=_policy(), closed_at=clock.now())
    return {"period": period, "already_closed": report.already_closed, "offsets": report.offsets,
            "offset_cents": report.offset_cents, "disbursements": report.disbursements,
            "disbursed_cents": report.disbursed_cents}


def run_collections(day: date) -> dict:
    from ledger.collections import run_collections as run

    with engine().begin() as conn:
        report = run(conn, day, policy=_policy(), at=clock.now())
    return {"day": str(day), "settlements": report.settlements, "penalties": report.penalties,
            "penalty_cents": report.penalty_cents, "interest_cents": report.interest_cents,
            "arrears_notices": report.arrears_notices, "security_alerts": report.security_alerts,
            "problems": report.problems}


# ------------------------------------------------------------------ documents
#: Formats delivered to a partner's SFTP outbox (XML under the XSD, D17-R16, and its PDF);
#: every format also stays in `$CARM_HOME/documents/` for the portal.
DELIVERED_FORMATS = (".xml", ".pdf")


def _deliver_documents(files: list[Path]) -> dict:
    """Put each document into its recipient's SFTP outbox (recipient BN9 = the file name's first part)."""
    folders = transport()
    by_bn9 = {p.business_number: p for p in registry() if p.business_number}
    delivered, kept = [], []
    for path in files:
        partner = by_bn9.get(path.name.split("-", 1)[0])
        if path.suffix not in DELIVERED_FORMATS:
            continue
        if partner is None:
            kept.append(path.name)  # no SFTP account: the portal shows it
            continue
        folders.deliver(partner.sftp_user, path.name, path.read_bytes())
        delivered.append(f"{partner.sftp_user}/{path.name}")
    log.info("documents.delivered", delivered=len(delivered), kept_for_portal=len(kept))
    return {"delivered": delivered, "kept_for_portal": kept}


def daily_notices(issue_date: date) -> dict:
    """D17-R14: the Daily Notices issued on `issue_date` (for the business day before), delivered;
    then the day's notices (avis) e-mailed to subscribers and urgent ones to everyone (G-R1)."""
    import statements

    out = db.home() / "documents" / "DN" / issue_date.isoformat()
    with engine().begin() as conn:
        report = statements.issue_daily_notices(conn, issue_date, out, policy=_policy())
        sent = statements.send_day_notices(conn, issue_date, db.home() / "outbox-email")
    result = {"summary": report.summary_line(), "problems": [p.message for p in report.problems],
              "notices_emailed": sent.written + sent.unchanged, "notices_not_subscribed": sent.not_subscribed,
              "notice_problems": [str(p) for p in sent.problems]}
    result.update(_deliver_documents(report.files))
    return result


def statements_of_account(period: str) -> dict:
    """D17-R15: the period's Statements of Account (the period closed first, idempotently), delivered."""
    import statements

    close_period(period)
    out = db.home() / "documents" / "SOA" / period
    with engine().begin() as conn:
        report = statements.run_statements(conn, period, out, policy=_policy())
    result = {"summary": report.summary_line(), "problems": [p.message for p in report.problems]}
    result.update(_deliver_documents(report.files))
    return result
