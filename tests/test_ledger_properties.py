"""Properties of the books, whatever happens to them.

Any sequence of declarations, refunds, 820 payments (good, partial, refused,
duplicated), period closes, collections runs and correcting entries leaves:
every entry balanced, every cached balance equal to its journal, the journal
summing to zero, and every cent that came from a bank either applied, left as
a credit, or held in suspense.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, select
from sqlalchemy.pool import StaticPool

from carm.db import upgrade
from ledger.model import Entry, JournalLine
from store.journal import check_books, post
from store.ledger import close_period, run_collections
from store.schema import ar_item, journal_entry, journal_line, payment

from .ledger_helpers import AT, CLIENT, IMPORTER, POLICY, PaymentSpec, declare, pay, setup_world, txn
from .ledger_helpers import LineSpec as PayLine

ACCOUNTS = [f"{IMPORTER}RM0001", f"{IMPORTER}RM0002", f"{CLIENT}RM0002", "999999998RM0001"]
START = date(2026, 10, 19)

declaration_op = st.tuples(st.just("declare"), st.integers(0, 2), st.integers(1, 500_000_00), st.integers(0, 60), st.booleans())
payment_op = st.tuples(
    st.just("pay"),
    st.lists(st.tuples(st.integers(0, 3), st.integers(1, 300_000_00)), min_size=1, max_size=3),
    st.integers(0, 60),
    st.sampled_from(["SOA", "ADV", "INT"]),
    st.sampled_from(["ACH", "ACH", "FWT"]),
    st.integers(0, 5),  # trace: small range, so duplicates happen
)
refund_op = st.tuples(st.just("refund"), st.integers(0, 20), st.integers(1, 100_00))
close_op = st.tuples(st.just("close"), st.sampled_from(["2026-11", "2026-12"]))
collections_op = st.tuples(st.just("collections"), st.integers(0, 70))
correction_op = st.tuples(st.just("correct"), st.integers(0, 30))
operation = st.one_of(declaration_op, payment_op, refund_op, close_op, collections_op, correction_op)


def _engine():
    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    upgrade(engine)  # the tables as production has them: through the migrations
    setup_world(engine)
    return engine


def _apply(engine, op, state) -> None:
    kind = op[0]
    if kind == "declare":
        _, acct, cents, offset, secured = op
        state["n"] += 1
        number = txn("12001" if secured and acct < 2 else "50505", state["n"])
        day = START + timedelta(days=offset)
        declare(engine, dict(transaction_number=number, rm15=ACCOUNTS[acct], asec="12001" if secured and acct < 2 else "",
                             release_date=str(day), accounting_date=str(day), duty=f"{cents // 100}.{cents % 100:02d}"))
        state["declared"].append(number)
    elif kind == "pay":
        _, lines, offset, pkind, method, trace = op
        spec = PaymentSpec(f"T{trace}", IMPORTER, [PayLine(ACCOUNTS[a], c, "12001" if pkind == "INT" else None) for a, c in lines],
                           kind=pkind, method=method)
        state["files"] += 1
        when = AT + timedelta(days=offset)
        pay(engine, spec, received_at=when, control=state["files"])
    elif kind == "refund" and state["declared"]:
        _, which, cents = op
        number = state["declared"][which % len(state["declared"])]
        state["n"] += 1
        declare(engine, dict(record="refund", transaction_number=number, accounting_date=str(START + timedelta(days=30)),
                             reference=f"RF-{state['n']}", component="duty", amount=f"{cents // 100}.{cents % 100:02d}"))
    elif kind == "close":
        with engine.begin() as conn:
            close_period(conn, op[1], policy=POLICY, at=AT)
    elif kind == "collections":
        with engine.begin() as conn:
            run_collections(conn, START + timedelta(days=op[1]), policy=POLICY, at=AT)
    elif kind == "correct":
        # D17-R18: a correction is a new entry reversing an old one, never an edit
        with engine.begin() as conn:
            ids = conn.execute(select(journal_entry.c.id).order_by(journal_entry.c.id)).scalars().all()
            if not ids:
                return
            target = ids[op[1] % len(ids)]
            rows = conn.execute(
                select(journal_line, ar_item.c.key.label("item_key"))
                .outerjoin(ar_item, ar_item.c.id == journal_line.c.item_id)
                .where(journal_line.c.entry_id == target)
            ).all()
            reversed_lines = tuple(
                JournalLine(r.account, debit_cents=r.credit_cents, credit_cents=r.debit_cents, rm15=r.rm15, item_key=r.item_key,
                            party=r.party, trace=r.trace)
                for r in rows
            )
            post(conn, Entry(f"correct:{target}", START + timedelta(days=65), "CORRECTION", f"reverses {target}", reversed_lines, reverses=target), AT)


@pytest.mark.slow  # seconds of work: the full suite runs it, the fast tier does not
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(operation, min_size=1, max_size=12))
def test_any_history_keeps_the_books_sound(ops):
    engine = _engine()
    state = {"n": 0, "files": 0, "declared": []}
    for op in ops:
        _apply(engine, op, state)
    with engine.begin() as conn:
        assert check_books(conn) == []
        # every cent a bank sent is somewhere: BANK debits = AR credits net of AR debits from payments + suspense
        bank = conn.execute(select(func.coalesce(func.sum(journal_line.c.debit_cents - journal_line.c.credit_cents), 0)).where(journal_line.c.account == "BANK")).scalar()
        received = conn.execute(  # refused and duplicate sets never enter the books (negative 997)
            select(func.coalesce(func.sum(payment.c.total_cents), 0)).where(payment.c.status == "posted")
        ).scalar()
        reversed_bank = conn.execute(
            select(func.coalesce(func.sum(journal_line.c.credit_cents), 0))
            .join(journal_entry, journal_entry.c.id == journal_line.c.entry_id)
            .where(journal_line.c.account == "BANK", journal_entry.c.reason == "CORRECTION")
        ).scalar()
        reversed_twice = conn.execute(
            select(func.coalesce(func.sum(journal_line.c.debit_cents), 0))
            .join(journal_entry, journal_entry.c.id == journal_line.c.entry_id)
            .where(journal_line.c.account == "BANK", journal_entry.c.reason == "CORRECTION")
        ).scalar()
        assert bank == received - reversed_bank + reversed_twice
