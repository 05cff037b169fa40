"""Hostile input: every answer valid X12, never a traceback, bounded cost.

`../shared/robustness/` holds one-edit 820s that once crashed the engine (C, I), drew an
acknowledgement its own maps refuse (V for 997, T for TA1, A for 824) or a valid but wrong
997 (W).  Each is answered here as intake answers it, and each answer is read back by pyx12
against `mappings/` (`edi.conformance`).  The exact segments expected are worked out from
the edit each file makes (its README) and the 820 guide.
"""

from __future__ import annotations

import io
import random
from datetime import datetime

import pytest
from sqlalchemy import func, select

from carm.intake import ingest
from core.clock import EASTERN
from core.money import format_x12_amount, parse_amount
from core.text import number
from edi.conformance import document_problems
from edi.limits import DEFAULT_LIMITS, Limits
from edi.pipeline import acknowledge_file
from edi.reader import MAX_SEGMENT_BYTES, X12Reader
from edi.samples import LineSpec, PaymentSpec, file_820
from edi.store import MemoryEdiStore
from ledger.policy import Policy
from store.ledger import load_reference
from store.schema import notice, payment, payment_line

from .conftest import FIXTURES, SHARED

ROBUSTNESS = SHARED / "robustness"
FILES = sorted(ROBUSTNESS.glob("*.x12"))
AT = datetime(2026, 11, 21, 9, 0, tzinfo=EASTERN)
SENDER = "ZZ:BANKOFTEST"


def answer(data: bytes, *, sender: str | None = None, limits: Limits = DEFAULT_LIMITS):
    return acknowledge_file(io.BytesIO(data), "case.x12", store=MemoryEdiStore(), at=AT, sender=sender, limits=limits)


def segments(outcome, kind: str) -> list[str]:
    """The segments of one answer, as text without terminators."""
    if kind not in outcome.documents:
        return []
    return [line.rstrip("~") for line in outcome.documents[kind][1].decode("ascii").splitlines()]


def body(outcome, kind: str) -> list[str]:
    """The segments of one answer without the envelope (ISA, GS, ST, SE, GE, IEA)."""
    return [s for s in segments(outcome, kind) if s[:3] not in ("ISA", "GS*", "ST*", "SE*", "GE*", "IEA")]


def isa13s(outcome, kind: str) -> list[str]:
    return [s.split("*")[13] for s in segments(outcome, kind) if s.startswith("ISA")]


def isa08(outcome, kind: str) -> str:
    return next(s for s in segments(outcome, kind) if s.startswith("ISA")).split("*")[8]


def read(name: str) -> bytes:
    return (ROBUSTNESS / name).read_bytes()


def test_the_robustness_inputs_are_all_here():
    # they come from ../shared; a missing folder must fail, not pass with nothing tested
    assert len(FILES) >= 33


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
@pytest.mark.parametrize("sender", [None, SENDER], ids=["by-hand", "from-its-folder"])
def test_every_robustness_input_is_answered_and_every_answer_passes_its_map(path, sender):
    outcome = answer(path.read_bytes(), sender=sender)
    assert outcome.documents, "every one of these files has an ISA: it gets a TA1 or a 997"
    for kind, (_, content) in outcome.documents.items():
        assert document_problems(content) == [], f"{kind} of {path.name}"


def test_the_conformance_check_finds_what_is_wrong():
    """The check the tests above rely on can fail: it refuses a 997 with an AK101 its map does not
    take, a control character, the same ISA13 twice in one document."""
    good = answer(read("V2-ak101-gs01-IN.x12")).documents["997"][1]
    assert document_problems(good) == []
    assert any("RA|AG" in p for p in document_problems(good.replace(b"AK1*RA*", b"AK1*IN*")))
    assert any("control character" in p for p in document_problems(good.replace(b"AK2*820*0001", b"AK2*820*00\x0b1")))
    twice = answer(read("V12-997-duplicate-isa13.x12")).documents["997"][1]
    first, second = twice.split(b"ISA*")[1:]
    assert any("ISA13 used more than once" in p for p in document_problems(b"ISA*" + first + b"ISA*" + first))


# ------------------------------------------------------------------ crashes (C)
@pytest.mark.parametrize("name", ["C1-ent01-superscript-digit.x12", "C1b-ent01-superscript-utf8.x12"])
def test_a_superscript_two_in_ent01_is_an_invalid_character(name):
    # '²' is a digit to str.isdigit() and not to X12: ENT01 (N0) holds an invalid character
    outcome = answer(read(name))
    assert body(outcome, "997") == ["AK1*RA*101", "AK2*820*0001", "AK3*ENT*8**8", "AK4*1*554*6*?", "AK5*R*5", "AK9*R*1*1*0"]


def test_an_iea01_of_5000_digits_is_ta1_021():
    outcome = answer(read("C2-iea01-5000-digits.x12"))
    assert body(outcome, "ta1") == ["TA1*000000101*261120*0930*R*021"]
    assert len(outcome.result.interchanges[0].ta1_message) < 200  # the message quotes 40 characters, not 5,000


def test_a_ge01_of_5000_digits_is_ak9_5_and_ak902_counts_what_came():
    # AK902 (N0 1/6) cannot echo 5,000 digits: it says the sets received
    assert body(answer(read("C3-ge01-5000-digits.x12")), "997")[-1] == "AK9*R*1*1*1*5"


def test_a_ge02_of_5000_digits_is_ak9_4():
    assert body(answer(read("C4-ge02-5000-digits.x12")), "997")[-1] == "AK9*R*1*1*1*4"


def test_an_se01_of_5000_digits_is_too_long_and_a_wrong_count():
    lines = body(answer(read("C5-se01-5000-digits.x12")), "997")
    assert lines[2] == "AK3*SE*12**8"
    assert lines[3] == "AK4*1*96*5*" + "1" * 99  # AK404 keeps 99 characters, its maximum
    assert lines[4:] == ["AK5*R*4*5", "AK9*R*1*1*0"]


def test_an_amount_of_a_million_digits_is_too_long():
    lines = body(answer(read("C7-bpr02-million-digits.x12")), "997")
    assert lines[2:4] == ["AK3*BPR*2**8", "AK4*2*782*5*" + "9" * 99]
    assert lines[-2:] == ["AK5*R*5", "AK9*R*1*1*0"]


@pytest.mark.parametrize("name", ["C6-isa06-60-chars-postgresql.x12", "C8-isa06-nul-postgresql.x12"])
def test_an_isa06_the_database_could_not_hold_is_ta1_006_on_both_databases(engine, name):
    """Intake as from BANKOFTEST's folder: the TA1 goes to that partner, and neither the 60
    characters nor the NUL reach the database."""
    done = ingest(engine, read(name), name, received_at=AT, policy=Policy(), sender=SENDER, channel="bankoftest",
                  acknowledged_at=AT)
    assert body(done.outcome, "ta1") == ["TA1*000000101*261120*0930*R*006"]
    assert isa08(done.outcome, "ta1") == "BANKOFTEST     "
    assert done.posted == []
    # and by hand (no folder): addressed to what could be read of it, in the X12 character set
    outcome = answer(read(name))
    assert isa08(outcome, "ta1") == {"C6": "BBBBBBBBBBBBBBB", "C8": "BANKOF?TEST    "}[name[:2]]


def test_the_same_set_twice_in_a_group_is_taken_once(engine):
    """I2: the second ST02 0001 of the group is AK5 R 23 (not unique in the group); the first is
    posted, once, on both databases — no IntegrityError, no retry."""
    with engine.begin() as conn:
        load_reference(conn, FIXTURES / "reference.json")
    done = ingest(engine, read("I2-ingest-same-set-twice.x12"), "i2.x12", received_at=AT, policy=Policy(), sender=SENDER,
                  channel="bankoftest", acknowledged_at=AT)
    assert body(done.outcome, "997") == ["AK1*RA*101", "AK2*820*0001", "AK5*A", "AK2*820*0001", "AK5*R*23", "AK9*P*2*2*1"]
    assert [s for s in body(done.outcome, "824") if s.startswith("OTI")] == [
        "OTI*TA*TN*NBK20261120000001*BANKOFTEST*CBSACARM*20261120*0930*101*0001*820*004010"
    ]
    assert [p.trace for p in done.posted] == ["NBK20261120000001"]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(payment)).scalar() == 1


# ------------------------------------------------------------------ invalid 997 (V)
def test_ak902_never_echoes_more_than_six_digits():
    assert body(answer(read("V1-ak902-ge01-7-digits.x12")), "997")[-1] == "AK9*R*1*1*1*5"


@pytest.mark.parametrize(("name", "expected"), [
    ("V2-ak101-gs01-IN.x12", ["AK1*RA*101", "AK2*820*0001", "AK5*R*1", "AK9*R*1*1*0*1"]),
    ("V3-ak201-st01-810.x12", ["AK1*RA*101", "AK2*820*0001", "AK5*R*1", "AK9*R*1*1*0"]),
    ("V3b-ak201-st01-82.x12", ["AK1*RA*101", "AK2*820*0001", "AK5*R*1", "AK9*R*1*1*0"]),
])
def test_ak101_and_ak201_hold_only_what_the_997_map_takes(name, expected):
    # the group and the set are named by GS06 and ST02; AK9 1 / AK5 1 say they are not supported (E16)
    assert body(answer(read(name)), "997") == expected


def test_an_st02_of_spaces_is_ak5_7_with_a_placeholder_ak202():
    assert body(answer(read("V4-ak202-st02-spaces.x12")), "997") == ["AK1*RA*101", "AK2*820*0000", "AK5*R*7", "AK9*R*1*1*0"]


def test_an_error_in_a_composite_is_written_with_its_component_separator():
    lines = body(answer(read("V5-ak401-composite-colon-cleaned.x12")), "997")
    assert lines[2:5] == ["AK3*REF*5**8", "AK4*4:1*128*5*XXXX", "AK4*4:2*127*1"]


@pytest.mark.parametrize("name", ["V6-ak404-control-char.x12", "V7-ak404-backtick.x12"])
def test_ak404_copies_a_bad_value_in_the_x12_character_set(name):
    lines = body(answer(read(name)), "997")
    assert lines[2:4] == ["AK3*BPR*2**8", "AK4*2*782*6*512?34.56"]


def test_a_fullwidth_digit_in_gs06_is_ak9_6_with_a_placeholder_ak102():
    lines = body(answer(read("V8-ak102-fullwidth-digit.x12")), "997")
    assert lines[0] == "AK1*RA*0" and lines[-1] == "AK9*R*1*1*1*4*6"


@pytest.mark.parametrize(("name", "by_hand"), [
    ("V9-997-isa08-backtick.x12", "BANKOFTEST?    "),
    ("V9b-997-isa08-control-char.x12", "BANKOF?TEST    "),
    ("T3-ta1-isa08-control-char.x12", "BANKOF?TEST    "),
    ("V11-997-isa-injection.x12", "BANK?TEST      "),
    ("T4-ta1-isa-injection.x12", "BANK?TEST?     "),
])
def test_an_isa06_outside_the_partner_character_set_is_ta1_006(name, by_hand):
    """No registered sender ID holds a backtick, a control character or a delimiter: TA1 006.
    From the partner's folder the TA1 goes to that partner; by hand, to what could be read."""
    outcome = answer(read(name))
    assert [s.split("*")[5] for s in body(outcome, "ta1")] == ["006"]
    assert isa08(outcome, "ta1") == by_hand
    assert "997" not in outcome.documents
    assert isa08(answer(read(name), sender=SENDER), "ta1") == "BANKOFTEST     "


def test_a_control_character_in_gs02_is_ta1_024():
    assert body(answer(read("V10-997-gs03-control-char.x12")), "ta1") == ["TA1*000000101*261120*0930*R*024"]


@pytest.mark.parametrize(("name", "kinds"), [
    ("V12-997-duplicate-isa13.x12", {"997": ["000000001", "000000002"], "824": ["000000002", "000000003"]}),
    ("T5-ta1-duplicate-isa13.x12", {"ta1": ["000000001", "000000002"]}),
])
def test_two_senders_in_one_file_get_distinct_isa13s_in_each_answer(name, kinds):
    # BANKOFTEST's sequence gives 1; OTHERBANK's also gives 1, already used in this document: drawn again
    outcome = answer(read(name))
    for kind, numbers in kinds.items():
        assert isa13s(outcome, kind) == numbers


# ------------------------------------------------------------------ invalid TA1 (T) and 824 (A)
def test_a_mathematical_digit_in_isa13_is_ta1_018_with_zeros_in_ta101():
    assert body(answer(read("T1-ta101-math-digit-isa13.x12")), "ta1") == ["TA1*000000000*261120*0930*R*018"]


def test_a_bad_isa05_is_ta1_005_addressed_with_a_qualifier_the_map_takes():
    outcome = answer(read("T2-ta1-isa07-bad-qualifier.x12"))
    assert body(outcome, "ta1") == ["TA1*000000101*261120*0930*R*005"]
    assert next(s for s in segments(outcome, "ta1") if s.startswith("ISA")).split("*")[7] == "ZZ"


def test_an_18_digit_amount_is_more_than_the_books_hold():
    """111111111111111111 dollars is 1.1 × 10¹⁹ cents: more than a 64-bit column holds (it used to
    be acknowledged, then overflow the journal). More than 16 digits before the point is too long
    for the engine's guide (E18): AK4 code 5, the set rejected, no 824, nothing recorded."""
    outcome = answer(read("A1-824-amt02-18-digit-amount.x12"))
    amount = "111111111111111111"
    assert body(outcome, "997")[2:4] == ["AK3*BPR*2**8", f"AK4*2*782*5*{amount}"]
    assert "824" not in outcome.documents


def test_an_amount_above_the_ceiling_is_refused_and_its_824_says_it_in_18_digits():
    """$99,999,999,999,999.99 (10¹⁶ − 1 cents) fits the books and is far above the $10 billion
    ceiling: refused before the 997 (proof of payment), and the 824's AMT02 holds it in 16 digits."""
    data = file_820([PaymentSpec("TRACE0001", "123456782", [LineSpec("123456782RM0001", 10**16 - 1)])])
    outcome = answer(data)
    amount = "99999999999999.99"
    assert body(outcome, "997")[2:5] == ["AK3*BPR*2**8", f"AK4*2*782*7*{amount}", "AK5*R*5"]
    assert f"AMT*2*{amount}" in body(outcome, "824")
    assert f"TED*012*payment total above the agency's ceiling of 10000000000.00*BPR*2*2*782*{amount}" in body(outcome, "824")
    assert all(document_problems(content) == [] for _, content in outcome.documents.values())


def test_a_payment_at_the_ceiling_is_taken_and_one_cent_more_is_not():
    ceiling = Limits().max_payment_cents
    for cents, ak5 in ((ceiling, "AK5*A"), (ceiling + 1, "AK5*R*5")):
        data = file_820([PaymentSpec("TRACE0001", "123456782", [LineSpec("123456782RM0001", cents)])])
        assert ak5 in body(answer(data), "997")


def test_an_arabic_indic_digit_in_gs04_is_ta1_024():
    assert body(answer(read("A2-824-oti06-arabic-digits.x12")), "ta1") == ["TA1*000000101*261120*0930*R*024"]


def test_a_blank_trace_is_a_missing_trn02():
    lines = body(answer(read("A3-824-oti03-blank-trace.x12")), "997")
    assert lines[2:5] == ["AK3*TRN*3**8", "AK4*2*127*1", "AK5*R*5"]


def test_a_trace_with_spaces_around_it_is_refused():
    data = file_820([PaymentSpec(" TRACE1", "123456782", [LineSpec("123456782RM0001", 100)])])
    lines = body(answer(data), "997")
    assert "AK4*2*127*7* TRACE1" in lines and "AK5*R*5" in lines


# ------------------------------------------------------------------ wrong but valid (W)
def test_a_pairing_rule_is_an_element_error_not_an_unrecognized_segment():
    """BPR06 without BPR07 (820 guide BPR05–BPR15, X12 P0607): AK4 code 2 on BPR06 (data element
    506), beside the element errors of the same BPR — never AK3 code 1."""
    lines = body(answer(read("W1-pairing-rule-reported-as-unrecognized-segment.x12")), "997")
    assert lines[2] == "AK3*BPR*2**8"
    assert "AK4*6*506*2" in lines and "AK4*16*373*1" in lines
    assert not any(s.startswith("AK3") and s.endswith("*1") for s in lines)


# ------------------------------------------------------------------ numbers and amounts
def test_numbers_are_ascii_digits_of_a_bounded_length():
    assert number("0012", 9) == 12
    for text in ("²", "١٢", "１", "𝟗", "", "1 2", "-1", "1" * 10):
        assert number(text, 9) is None, text


def test_amounts_are_ascii_of_at_most_18_digits():
    assert parse_amount("9999999999999999.99") == 999999999999999999
    for text in ("1" * 19, "١٠٠", "1" * 1_000_001, "１.00"):
        assert parse_amount(text) is None
    assert format_x12_amount(111111111111111111_00) == "111111111111111111"
    assert format_x12_amount(12_50) == "12.50"


# ------------------------------------------------------------------ cost
def test_a_set_of_thousands_of_errors_stops_at_the_limit_of_notes():
    """20,000 empty segments in one set: 100 AK3s (the limit), the set rejected, the rest not walked."""
    data = file_820([PaymentSpec("TRACE0001", "123456782", [LineSpec("123456782RM0001", 100)])])
    data = data.replace(b"TRN*", b"~\n" * 20_000 + b"TRN*", 1)
    outcome = answer(data)
    lines = body(outcome, "997")
    assert sum(s.startswith("AK3") for s in lines) == 100
    assert lines[-2:] == ["AK5*R*4*5", "AK9*R*1*1*0"]
    (st,) = outcome.result.interchanges[0].groups[0].sets
    assert st.unchecked > 19_000
    assert len(outcome.documents["997"][1]) < 3_000


def test_a_file_over_the_size_limit_is_not_read():
    data = file_820([PaymentSpec("TRACE0001", "123456782", [LineSpec("123456782RM0001", 100)])])
    outcome = answer(data, limits=Limits(max_file_bytes=len(data) - 1))
    assert outcome.documents == {} and outcome.exit_code == 2
    assert [p.code for p in outcome.result.problems] == ["too-large"]
    assert answer(data, limits=Limits(max_file_bytes=len(data))).exit_code == 0


def test_a_file_with_no_terminator_is_reported_once():
    # 5 MiB with no terminator after the ISA: one problem, not one per MiB
    data = file_820([PaymentSpec("TRACE0001", "123456782", [LineSpec("123456782RM0001", 100)])])
    head = data[: data.index(b"GS*")]
    reader = X12Reader(io.BytesIO(head + b"X" * (5 * MAX_SEGMENT_BYTES)))
    segments_read = list(reader)
    assert [p.code for p in reader.problems] == ["segment-too-long"]
    assert len(segments_read) == 2


def test_stray_segments_after_the_iea_cost_one_problem():
    data = file_820([PaymentSpec("TRACE0001", "123456782", [LineSpec("123456782RM0001", 100)])])
    outcome = answer(data + b"~\n" * 20_000)
    (ic,) = outcome.result.interchanges
    assert ic.ta1_code == "022" and len(ic.envelope_problems) == 1


@pytest.mark.slow  # seconds of work: the full suite runs it, the fast tier does not
def test_a_sample_of_mutations_is_answered_within_the_maps():
    """A few hundred inputs of `bench/fuzz.py` (the long run is by hand, docs/robustness.md): no
    exception, no answer outside its map, the AK9 counts right, no positive 997 refused."""
    from bench import fuzz

    worker = fuzz.Worker("memory", False, out=_sink(), hang=30.0)
    stats = worker.run((random.Random(13).randrange(10**6), 300))
    assert stats["exceptions"] == {} and stats["hangs"] == 0
    assert stats["invalid"] == 0 and stats["violations"] == 0
    assert stats["documents"] > 250


def test_a_sample_of_mutations_is_judged_and_posted_on_both_databases(engine):
    """The same on the ledger: each input judged against the fixtures' accounts and posted, in a
    transaction rolled back at once (`carm.intake.preview`): no exception on either database, every
    set acknowledged A posted."""
    from bench import fuzz

    fuzz.load_world(engine)
    worker = fuzz.Worker("database", True, out=_sink(), hang=30.0, engine=engine)
    stats = worker.run((random.Random(17).randrange(10**6), 200))
    assert stats["exceptions"] == {} and stats["hangs"] == 0
    assert stats["invalid"] == 0 and stats["violations"] == 0
    assert stats["posted"] > 0  # the sample reaches the ledger, not only the 997


def _sink():
    import tempfile
    from pathlib import Path

    return Path(tempfile.mkdtemp(prefix="fuzz-sample-"))


def test_a_payment_is_recorded_as_it_arrived_on_both_databases(engine):
    """Found by the fuzz on PostgreSQL: a line whose RMR02 is 19 digits (set aside, in suspense) and a
    payer security account of 30 characters (refused) are recorded whole — the value a payment was
    refused or set aside for is what an operator needs to see; a payer whose BN9 fails its check
    digit gets no notice (no business can read it; its FI has the 824)."""
    with engine.begin() as conn:
        load_reference(conn, FIXTURES / "reference.json")
    data = file_820([
        PaymentSpec("TRACE0001", "123456782", [LineSpec("9" * 19, 100), LineSpec("123456782RM0001", 200)]),
        PaymentSpec("TRACE0002", "123456789", [LineSpec("123456782RM0001", 100)], payer_asec="A" * 30),
    ])
    done = ingest(engine, data, "wide.x12", received_at=AT, policy=Policy(), sender=SENDER, channel="bankoftest",
                  acknowledged_at=AT)
    assert [(p.trace, p.status, p.suspense_cents) for p in done.posted] == [("TRACE0001", "posted", 100), ("TRACE0002", "refused", 0)]
    with engine.connect() as conn:
        refused = conn.execute(select(payment.c.payer_bn9, payment.c.payer_asec).where(payment.c.trace == "TRACE0002")).one()
        assert tuple(refused) == ("123456789", "A" * 30)
        assert "9" * 19 in conn.execute(select(payment_line.c.rm15)).scalars().all()
        assert conn.execute(select(func.count()).select_from(notice).where(notice.c.bn9 == "123456789")).scalar() == 0


@pytest.mark.parametrize("sender", [None, SENDER], ids=["by-hand", "from-its-folder"])
def test_a_tiny_envelope_with_a_nul_sender_is_answered_on_both_databases(engine, sender):
    """An ISA of empty elements but a NUL for ISA06, 39 bytes: TA1 R, addressed where it can be, and
    the NUL reaches neither a look-up nor a control number sequence (PostgreSQL refuses NUL in text)."""
    data = b"ISA*00**00**ZZ*\x00*ZZ****U*00401*1*0*P*:~"
    done = ingest(engine, data, "tiny.x12", received_at=AT, policy=Policy(), sender=sender,
                  channel="bankoftest" if sender else "", acknowledged_at=AT)
    (line,) = body(done.outcome, "ta1")
    assert line.startswith("TA1*000000000*") and line.split("*")[4] == "R"
    assert isa08(done.outcome, "ta1") == ("BANKOFTEST     " if sender else "?              ")
    assert document_problems(done.outcome.documents["ta1"][1]) == []



# ------------------------------------------------------------------ found by review and by the fuzz
BASE = (FIXTURES / "820" / "01-importer-soa-payment.x12").read_bytes()


def test_a_blank_account_is_a_missing_rmr02_not_an_824_without_oti03():
    """RMR02 of one space used to be set aside and echoed as an empty OTI03 (invalid 824)."""
    cut = BASE.index(b"RMR*11*") + len(b"RMR*11*")
    data = BASE[:cut] + b" " + BASE[BASE.index(b"*", cut):]
    lines = body(answer(data), "997")
    assert "AK4*2*127*1" in lines and lines[-2:] == ["AK5*R*5", "AK9*R*1*1*0"]
    assert "824" not in answer(data).documents


def test_a_gs02_of_one_letter_and_a_space_is_ta1_024():
    # `B ` would be written back as `B`: too short for GS03
    assert body(answer(BASE.replace(b"GS*RA*BANKOFTEST*", b"GS*RA*B *")), "ta1") == ["TA1*000000101*261120*0930*R*024"]


def test_refusals_are_held_to_the_notes_limits():
    """A payment of zero with seven lines of zero: eight refusals, two AK3 notes when the set may
    hold two (the set is rejected all the same)."""
    data = file_820([PaymentSpec("TRACE0001", "123456782", [LineSpec("123456782RM0001", 0)] * 7)])
    lines = body(answer(data, limits=Limits(max_set_errors=2)), "997")
    assert sum(s.startswith("AK3") for s in lines) == 2 and "AK5*R*5" in lines
    lines = body(answer(data), "997")
    assert sum(s.startswith("AK3") for s in lines) == 8


def test_a_file_spends_its_notes_then_rejects_each_set_in_error_without_one():
    """max_file_errors: 3 notes for the file. Five sets with an unknown segment each: the first three
    carry their AK3, the last two are rejected (AK5 5) with none; a valid set after them is accepted."""
    sets = [PaymentSpec(f"TRACE000{n}", "123456782", [LineSpec("123456782RM0001", 100)]) for n in range(1, 7)]
    data = file_820(sets)
    for n in range(1, 6):  # a ZZZ segment in sets 1-5, each after its TRN
        data = data.replace(f"TRN*1*TRACE000{n}*1123456782~\n".encode(), f"TRN*1*TRACE000{n}*1123456782~\nZZZ*1~\n".encode())
    data = _recount(data)
    lines = body(answer(data, limits=Limits(max_file_errors=3)), "997")
    assert sum(s.startswith("AK3*ZZZ") for s in lines) == 3
    assert [s for s in lines if s.startswith("AK5")] == ["AK5*R*5"] * 5 + ["AK5*A"]


def _recount(data: bytes) -> bytes:
    """SE01 counted again after segments were added."""
    lines, start = data.decode().split("\n"), None
    for i, line in enumerate(lines):
        if line.startswith("ST*"):
            start = i
        elif line.startswith("SE*") and start is not None:
            parts = line.rstrip("~").split("*")
            lines[i] = f"SE*{i - start + 1}*{parts[2]}~"
    return "\n".join(lines).encode()


def test_ted04_is_left_out_beyond_six_digits():
    from edi.advice import Finding, _ted

    assert _ted(Finding("011", "x", "RMR", 1_000_009, 2, "127", "BAD")) == ("TED", "011", "x", "RMR", "", "2", "127", "BAD")
    assert _ted(Finding("011", "x", "RMR", 999_999, 2, "127", "BAD"))[4] == "999999"


def test_an_overlong_segment_rejects_its_interchange():
    """2 MiB without a terminator inside the GE: the segment is cut at 1 MiB, and the interchange it
    sits in is rejected (TA1 022) — not acknowledged and posted as if it were whole."""
    data = BASE.replace(b"GE*1*101~", b"GE*1*101*" + b"J" * (2 * MAX_SEGMENT_BYTES) + b"~")
    outcome = answer(data)
    assert body(outcome, "ta1") == ["TA1*000000101*261120*0930*R*022"]
    assert "997" not in outcome.documents and outcome.exit_code == 2


def test_too_many_components_is_an_element_error():
    lines = body(answer(BASE.replace(b"REF*ZZ*SOA~", b"REF*ZZ*SOA**A:B:C:D:E:F:G~")), "997")
    assert lines[2:5] == ["AK3*REF*5**8", "AK4*4**3*A?B?C?D?E?F?G", "AK5*R*5"]


def test_one_ak4_per_element():
    # a NUL inside N104: pyx12 finds an invalid character and an invalid format; one AK4 says it
    lines = body(answer(BASE.replace(b"FI*123456782", b"FI*1234\x0056782")), "997")
    assert [s for s in lines if s.startswith("AK4")] == ["AK4*4*67*6*1234?56782"]


def test_a_stream_that_cannot_say_its_size_is_cut_at_the_limit():
    class Pipe(io.RawIOBase):  # a socket or a pipe: not seekable
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            chunk = self._data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    from edi.validate import validate_stream

    result = validate_stream(io.BufferedReader(Pipe(BASE * 3)), limits=Limits(max_file_bytes=len(BASE)))
    assert result.interchanges == () and [p.code for p in result.problems] == ["too-large"]


def test_a_gs04_before_1800_is_ta1_024():
    """Found by the 1,000,000-input fuzz: GS04 `00261120` (year 26) is a date to Python and not to
    X12 (pyx12: none before 1800); echoed in the 824's OTI06 it made the 824 invalid."""
    assert body(answer(BASE.replace(b"*20261120*0930*101*X", b"*00261120*0930*101*X")), "ta1") == ["TA1*000000101*261120*0930*R*024"]
