"""A cheque the bank returns (D17-R26 c « Des frais peuvent être applicables pour les chèques
retournés par la banque »), undone with `carm payments cheque-returned`: one adjusting entry
swapping every line of its payment entry, so the debts it paid are owed again; and D17-R26 d
« deux chèques retournés dans une période de six mois consécutifs » → certified cheques only
(decision L26).

The world (tests/ledger_helpers.py): NORTHERN IMPORTS (secured, ASEC 12001) owes 600.00 of duty
on A1, accounted 2026-11-02, due 2026-12-01 with the 2026-11 statement of 11-25.
"""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from sqlalchemy import select

from core.clock import EASTERN
from ledger.policy import Policy
from statements.notices import render_notice
from store.channels import return_cheque
from store.schema import cheque_return, journal_entry, journal_line
from store.suspense import apply, suspense_lines

from .ledger_helpers import IMPORTER, OTHER, assert_books_sound, balances, declare, items, notices, setup_world, txn
from .test_channels import carm

A1 = f"{IMPORTER}RM0001"
DUTY = f"declaration:duty:{txn('12001', 1)}"
FEE = f"fee:administrative fee: partial non-electronic payment {IMPORTER}-000123"


@pytest.fixture
def world(engine):
    setup_world(engine)
    declare(engine, dict(transaction_number=txn("12001", 1), rm15=A1, asec="12001", release_date="2026-11-01",
                         accounting_date="2026-11-02", duty="600.00"))
    return engine



def _cheque(engine, tmp_path, number: str, *lines: str, received: str = "2026-11-26T10:00", certified: bool = False):
    args = ["payments", "cheque", number, "--payer", IMPORTER, "--received-at", received]
    for line in lines:
        args += ["--line", line]
    return carm(engine, tmp_path, *args, *(["--certified"] if certified else []))


def _bank(engine, trace: str) -> int:
    """BANK's net debit for a cheque trace: what the agency still holds of it."""
    with engine.begin() as conn:
        return sum(conn.execute(select(journal_line.c.debit_cents - journal_line.c.credit_cents)
                                .where(journal_line.c.account == "BANK", journal_line.c.trace == trace)).scalars())


def test_a_returned_cheque_makes_what_it_paid_owed_again_once(world, tmp_path):
    """400.00 of the 600.00 billed, received 11-26: 200.00 left and the 25.00 administrative fee
    (D17-R34, decision L24). Returned 11-30: every line swapped — the duty owes 600.00 again, the
    fee it brought is cancelled with it (there was no payment), the bank gives back 400.00."""
    code, out = _cheque(world, tmp_path, "000123", f"{A1}=400.00")
    assert code == 0, out
    assert balances(world, A1) == {DUTY: 200_00, FEE: 25_00}
    code, out = carm(world, tmp_path, "payments", "cheque-returned", "000123", "--payer", IMPORTER, "--on", "2026-11-30",
                     "--reason", "NSF")
    assert (code, out) == (0, f"cheque {IMPORTER}-000123 returned: reversed 400.00, from suspense 0.00, returned cheque fee 0.00\n")
    assert balances(world, A1) == {DUTY: 600_00}
    assert balances(world, A1, date(2026, 11, 29)) == {DUTY: 200_00, FEE: 25_00}  # the books of earlier days are untouched
    assert _bank(world, f"{IMPORTER}-000123") == 0
    with world.begin() as conn:
        entries = {r.key: r for r in conn.execute(select(journal_entry))}
        ret = conn.execute(select(cheque_return)).one()
    reversal = entries[f"returned:HQ-CHEQUE:{IMPORTER}-000123"]
    assert (reversal.reason, reversal.entry_date) == ("CHEQUE_RETURNED", date(2026, 11, 30))
    assert reversal.reverses == entries[f"pay:HQ-CHEQUE:{IMPORTER}-000123"].id
    assert (ret.trace, ret.payer_bn9, ret.returned_on, ret.reason, ret.fee_cents, ret.entry_id) == (
        f"{IMPORTER}-000123", IMPORTER, date(2026, 11, 30), "NSF", 0, reversal.id)
    (notice,) = notices(world, "cheque_returned")
    assert (notice.bn9, notice.rm15, notice.notice_date, notice.urgent) == (IMPORTER, A1, date(2026, 11, 30), True)
    subject, body = render_notice("cheque_returned", json.loads(notice.data), notice_date=notice.notice_date, account=A1, language="fr")
    assert subject == f"Votre chèque {IMPORTER}-000123 a été retourné par votre banque"
    assert body.startswith(f"Votre chèque {IMPORTER}-000123 de 400,00")
    assert "Motif : NSF" in body
    # again: refused with the reason, nothing changes
    code, out = carm(world, tmp_path, "payments", "cheque-returned", "000123", "--payer", IMPORTER, "--on", "2026-12-01",
                     "--reason", "NSF")
    assert (code, out) == (1, f"cheque {IMPORTER}-000123 not returned: cheque {IMPORTER}-000123 was already returned on 2026-11-30\n")
    assert balances(world, A1) == {DUTY: 600_00}
    assert len(notices(world, "cheque_returned")) == 1
    assert_books_sound(world)


def test_the_returned_cheque_fee_is_a_policy_none_by_default(world, tmp_path):
    """D17-R26 c « Des frais peuvent être applicables »: with a 45.00 fee configured, a fee item on
    the account the cheque paid, due with the statement of the return day's period: 12-01 is in
    period 2026-12 (11-18 → 12-17), due 2026-12-31 (the 10th weekday after 12-17)."""
    code, out = _cheque(world, tmp_path, "9", f"{A1}=600.00")
    assert code == 0, out
    assert balances(world, A1) == {}
    with world.begin() as conn:
        done = return_cheque(conn, IMPORTER, "9", day=date(2026, 12, 1), reason="stop payment",
                             policy=Policy(returned_cheque_fee_cents=45_00), at=datetime(2026, 12, 1, 9, tzinfo=EASTERN))
    assert (done.reversed_cents, done.suspense_cents, done.fee_cents, done.certified_since) == (600_00, 0, 45_00, None)
    assert balances(world, A1) == {DUTY: 600_00, f"fee:returned cheque fee {IMPORTER}-9": 45_00}
    (fee,) = [it for it in items(world, A1) if it.kind == "fee"]
    assert (fee.posted_on, fee.due_date) == (date(2026, 12, 1), date(2026, 12, 31))
    assert_books_sound(world)


def test_a_line_held_in_suspense_is_returned_with_the_cheque(world, tmp_path):
    """600.00 to A1 and 40.00 to an unknown account (held in suspense): the return reverses the
    600.00 and returns the 40.00 as the suspense line's own resolution — no operator can apply it
    afterwards — and the bank gives back all 640.00."""
    code, out = _cheque(world, tmp_path, "12", f"{A1}=600.00", "999999998RM0001=40.00")
    assert code == 1, out
    code, out = carm(world, tmp_path, "payments", "cheque-returned", "12", "--payer", IMPORTER, "--on", "2026-11-30", "--reason", "NSF")
    assert (code, out) == (0, f"cheque {IMPORTER}-12 returned: reversed 600.00, from suspense 40.00, returned cheque fee 0.00\n")
    assert balances(world, A1) == {DUTY: 600_00}
    assert _bank(world, f"{IMPORTER}-12") == 0
    with world.begin() as conn:
        assert suspense_lines(conn) == []
        (line,) = suspense_lines(conn, held_only=False)
        assert (line.resolution, line.resolved_on) == ("SUSPENSE_RETURNED", date(2026, 11, 30))
    assert_books_sound(world)


def test_a_cheque_whose_suspense_line_was_applied_is_not_returned(world, tmp_path):
    code, out = _cheque(world, tmp_path, "13", f"{A1}=100.00", "999999998RM0001=40.00")
    assert code == 1, out
    with world.begin() as conn:
        done = apply(conn, f"HQ-CHEQUE/{IMPORTER}-13/2", A1, None, policy=Policy(), day=date(2026, 11, 27),
                     at=datetime(2026, 11, 27, 9, tzinfo=EASTERN), by="ops", note="the payer's other account")
        assert done.amount_cents == 40_00
    assert balances(world, A1)[DUTY] == 460_00
    code, out = carm(world, tmp_path, "payments", "cheque-returned", "13", "--payer", IMPORTER, "--on", "2026-11-30", "--reason", "NSF")
    assert (code, out) == (1, f"cheque {IMPORTER}-13 not returned: line 2 of cheque {IMPORTER}-13, held in suspense, was applied to "
                              "an account on 2026-11-27: undo that first\n")
    assert balances(world, A1)[DUTY] == 460_00
    assert_books_sound(world)


def test_an_unknown_or_refused_cheque_is_not_returned(world, tmp_path):
    code, out = carm(world, tmp_path, "payments", "cheque-returned", "77", "--payer", IMPORTER, "--reason", "NSF")
    assert (code, out) == (1, f"cheque {IMPORTER}-77 not returned: no cheque {IMPORTER}-77 was entered\n")
    declare(world, dict(transaction_number=txn("00000", 2), rm15=f"{OTHER}RM0001", release_date="2026-11-03",
                        accounting_date="2026-11-03", duty="9000.00"))
    code, _ = carm(world, tmp_path, "payments", "cheque", "55", "--payer", OTHER, "--line", f"{OTHER}RM0001=5000.01",
                   "--received-at", "2026-11-26T10:00")
    assert code == 1  # above 5,000 from a payer without security, not certified (D17-R26 b)
    code, out = carm(world, tmp_path, "payments", "cheque-returned", "55", "--payer", OTHER, "--reason", "NSF")
    assert (code, out) == (1, f"cheque {OTHER}-55 not returned: cheque {OTHER}-55 was refused, never posted: there is nothing "
                              "to reverse\n")
    assert_books_sound(world)


@pytest.mark.parametrize(("second_return", "refused"), [
    ("2027-05-09", True),  # 11-10 + six months = 2027-05-10: the 9th is within the six consecutive months
    ("2027-05-10", False),  # the 10th is not
])
def test_two_returned_cheques_within_six_months_require_certified_cheques(world, tmp_path, second_return, refused):
    """D17-R26 d « Si un payeur détenant ou non un compte-garantie soumet deux chèques retournés
    dans une période de six mois consécutifs, un chèque certifié sera exigé pour tous les prochains
    paiements »: NORTHERN IMPORTS holds a security account — the rule applies all the same."""
    for number, received, returned in (("1", "2026-11-05T10:00", "2026-11-10"), ("2", "2026-11-12T10:00", second_return)):
        code, out = _cheque(world, tmp_path, number, f"{A1}=100.00", received=received)
        assert code == 0, out
        code, out = carm(world, tmp_path, "payments", "cheque-returned", number, "--payer", IMPORTER, "--on", returned, "--reason", "NSF")
        assert code == 0, out
    assert out.endswith(f"  from 2027-05-09 every cheque of {IMPORTER} must be certified (D17-R26)\n") == refused
    code, out = _cheque(world, tmp_path, "3", f"{A1}=100.00", received="2027-05-12T10:00")
    if refused:
        assert (code, out) == (1, f"cheque {IMPORTER}-3 refused (refused), return it to the payer:\n"
                                  "  two cheques returned within six months (the second on 2027-05-09): every cheque must now be "
                                  "certified (D17-R26)\n")
        assert balances(world, A1) == {DUTY: 600_00}
        code, out = _cheque(world, tmp_path, "4", f"{A1}=100.00", received="2027-05-12T10:00", certified=True)
    assert code == 0, out
    # 100.00 of the 600.00 the 2027-04 statement (04-25) billed: partial, non-electronic — the 25.00 fee (D17-R34)
    paid_by = "4" if refused else "3"
    assert balances(world, A1) == {DUTY: 500_00, f"fee:administrative fee: partial non-electronic payment {IMPORTER}-{paid_by}": 25_00}
    assert_books_sound(world)


def test_the_daily_notice_of_the_return_day_shows_the_reversal(world, tmp_path):
    """The Daily Notice issued 12-01 reports 11-30 (D17-R14): the duty owed again (+400.00) and the
    administrative fee cancelled (-25.00), as corrections naming the cheque; it passes its XSD."""
    code, out = _cheque(world, tmp_path, "000123", f"{A1}=400.00")
    assert code == 0, out
    code, out = carm(world, tmp_path, "payments", "cheque-returned", "000123", "--payer", IMPORTER, "--on", "2026-11-30",
                     "--reason", "NSF")
    assert code == 0, out
    code, out = carm(world, tmp_path, "notices", "daily", "--date", "2026-12-01", "--out", str(tmp_path / "docs"), "--formats", "xml")
    assert code == 0, out
    (xml,) = (tmp_path / "docs").rglob(f"{IMPORTER}-DN-*.xml")
    text = xml.read_text(encoding="utf-8")
    assert text.count("<Type>CORRECTION</Type>") == 2
    assert text.count(f"<Reference>{IMPORTER}-000123</Reference>") == 2
    assert "<Amount>400.00</Amount>" in text and "<Amount>-25.00</Amount>" in text
    assert "<NetChange>375.00</NetChange>" in text and "<ClosingBalance>600.00</ClosingBalance>" in text
