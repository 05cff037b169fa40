"""997 and TA1: one fixture per kind of error, with the exact segments the FI receives.

The base file (`edi_helpers.base_file`) is one conforming 820 (ST02 0001 in
group 1 of interchange 000000001); each case changes one thing in it.  SE01 is
recounted unless the case is about the count, so each case has one error.
Positions (AK302) count ST as 1: ST 1, BPR 2, TRN 3, CUR 4, REF 5, N1*PE 6,
N1*PR 7, ENT 8, RMR 9, ENT 10, RMR 11, SE 12.
"""

from __future__ import annotations

import pytest

from .edi_helpers import ack_segments, base_file, edit, ta1s

BASE = base_file()
OK_GROUP_END = ["AK9*A*1*1*1"]


def acks(case: bytes) -> list[str]:
    return ack_segments(case)


def test_a_conforming_file_is_accepted():
    assert acks(BASE) == ["AK1*RA*1", "AK2*820*0001", "AK5*A", "AK9*A*1*1*1"]
    assert ta1s(BASE) == []


CASES = {
    # segment errors (AK3 code)
    "missing mandatory BPR (AK3 3)": (
        edit(BASE, "BPR*C*125.50*C*ACH************20261120~\n", ""),
        ["AK3*BPR*2**3"],
    ),
    "missing mandatory TRN (AK3 3)": (
        edit(BASE, "TRN*1*TRACE0001*1123456782~\n", ""),
        ["AK3*TRN*3**3"],
    ),
    "missing payer N1*PR loop (AK3 3)": (
        edit(BASE, "N1*PR*NORTHERN IMPORTS LTD*FI*123456782~\n", ""),
        ["AK3*N1*7**3"],
    ),
    "no ENT loop at all (AK3 3)": (
        edit(BASE, "ENT*1~\nRMR*11*123456782RM0001**100.00~\nENT*2~\nRMR*11*123456782RM0002**25.50~\n", ""),
        ["AK3*ENT*8**3"],
    ),
    "ENT without RMR, found by the engine (AK3 3, decision E11)": (
        edit(BASE, "RMR*11*123456782RM0001**100.00~\n", ""),
        ["AK3*RMR*9**3"],
    ),
    "ENT without RMR before SE (AK3 3, found by pyx12)": (
        edit(BASE, "RMR*11*123456782RM0002**25.50~\n", ""),
        ["AK3*RMR*11**3"],
    ),
    "ENT with a REF but no RMR (AK3 3, found by pyx12)": (
        edit(BASE, "RMR*11*123456782RM0001**100.00~\n", "REF*ZZ*BRK01~\n"),
        ["AK3*RMR*9**3"],
    ),
    "two RMR in one ENT (AK3 5: exceeds maximum use)": (
        edit(BASE, "RMR*11*123456782RM0001**100.00~\n", "RMR*11*123456782RM0001**100.00~\nRMR*11*123456782RM0001**100.00~\n"),
        ["AK3*RMR*10**5"],
    ),
    "a segment the guide does not have (AK3 1)": (
        edit(BASE, "CUR*PR*CAD~\n", "CUR*PR*CAD~\nXYZ*1~\n"),
        ["AK3*XYZ*5**1"],
    ),
    # element errors (AK3 8 + AK4 code)
    "BPR02 not a number (AK4 6)": (
        edit(BASE, "BPR*C*125.50", "BPR*C*12X"),
        ["AK3*BPR*2**8", "AK4*2*782*6*12X"],
    ),
    "BPR02 a third decimal (AK4 6, decision E10)": (
        edit(BASE, "RMR*11*123456782RM0002**25.50", "RMR*11*123456782RM0002**25.505"),
        ["AK3*RMR*11**8", "AK4*4*782*6*25.505"],
    ),
    "BPR01 not C (AK4 7)": (edit(BASE, "BPR*C*", "BPR*X*"), ["AK3*BPR*2**8", "AK4*1*305*7*X"]),
    "BPR16 not a date (AK4 8)": (
        edit(BASE, "*20261120~\nTRN", "*20261350~\nTRN"),
        ["AK3*BPR*2**8", "AK4*16*373*8*20261350"],
    ),
    "TRN02 longer than 30 (AK4 5)": (
        edit(BASE, "TRN*1*TRACE0001", "TRN*1*" + "T" * 31),
        ["AK3*TRN*3**8", "AK4*2*127*5*" + "T" * 31],
    ),
    "payment kind not SOA, ADV or INT (AK4 7, decision E12)": (
        edit(BASE, "REF*ZZ*SOA", "REF*ZZ*XYZ"),
        ["AK3*REF*5**8", "AK4*2*127*7*XYZ"],
    ),
    "RMR01 not 11 (AK4 7)": (
        edit(BASE, "RMR*11*123456782RM0001", "RMR*IV*123456782RM0001"),
        ["AK3*RMR*9**8", "AK4*1*128*7*IV"],
    ),
    "payer BN9 not 9 digits (AK4 7)": (
        edit(BASE, "FI*123456782", "FI*12345"),
        ["AK3*N1*7**8", "AK4*4*67*7*12345"],
    ),
    "a control character in the payer name (AK4 6)": (
        edit(BASE, "NORTHERN IMPORTS LTD", "NORTHERN\x01IMPORTS"),
        ["AK3*N1*7**8", "AK4*2*93*6*<SOH>"]  # pyx12 names the control character,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_each_syntax_error_gets_its_ak3_ak4_and_rejects_the_set(name):
    case, detail = CASES[name]
    assert acks(case) == ["AK1*RA*1", "AK2*820*0001", *detail, "AK5*R*5", "AK9*R*1*1*0"]


def test_wrong_segment_count_is_ak5_4():
    case = edit(BASE, "SE*12*0001", "SE*13*0001", fix_count=False)
    assert acks(case) == ["AK1*RA*1", "AK2*820*0001", "AK5*R*4", "AK9*R*1*1*0"]


def test_trailer_control_number_mismatch_is_ak5_3():
    case = edit(BASE, "SE*12*0001", "SE*12*0002", fix_count=False)
    assert acks(case) == ["AK1*RA*1", "AK2*820*0001", "AK5*R*3", "AK9*R*1*1*0"]


def test_missing_se_is_ak5_2():
    case = edit(BASE, "SE*12*0001~\n", "", fix_count=False)
    assert acks(case) == ["AK1*RA*1", "AK2*820*0001", "AK5*R*2", "AK9*R*1*1*0"]


def test_a_set_that_is_not_an_820_is_ak5_1():
    # AK201 holds only what the 997 map takes (820, 824): the set is named by its ST02, and
    # AK5 code 1 says it is not supported (decision E16).
    case = edit(BASE, "ST*820*0001", "ST*810*0001")
    assert acks(case) == ["AK1*RA*1", "AK2*820*0001", "AK5*R*1", "AK9*R*1*1*0"]


def test_group_count_mismatch_is_ak9_5():
    case = edit(BASE, "GE*1*1", "GE*2*1", fix_count=False)
    assert acks(case) == ["AK1*RA*1", "AK2*820*0001", "AK5*A", "AK9*R*2*1*1*5"]


def test_group_control_number_mismatch_is_ak9_4():
    case = edit(BASE, "GE*1*1", "GE*1*7", fix_count=False)
    assert acks(case) == ["AK1*RA*1", "AK2*820*0001", "AK5*A", "AK9*R*1*1*1*4"]


def test_missing_ge_is_ak9_3():
    case = edit(BASE, "GE*1*1~\n", "", fix_count=False)
    # the interchange then has no group closed by GE: only AK9 says so (IEA01 still counts 1 group)
    assert acks(case) == ["AK1*RA*1", "AK2*820*0001", "AK5*A", "AK9*R*1*1*1*3"]


def test_unsupported_version_is_ak9_2_not_an_exception():
    """pyx12 raises EngineError on a GS08 it has no map for; the engine answers."""
    case = edit(BASE, "*X*004010~", "*X*005010~", fix_count=False)
    assert acks(case) == ["AK1*RA*1", "AK2*820*0001", "AK5*R*1", "AK9*R*1*1*0*2"]


def test_unsupported_functional_group_is_ak9_1():
    # AK101 holds only what the 997 map takes: the group is named by its GS06 (decision E16)
    case = edit(BASE, "GS*RA*", "GS*IN*", fix_count=False)
    assert acks(case) == ["AK1*RA*1", "AK2*820*0001", "AK5*R*1", "AK9*R*1*1*0*1"]


def test_one_good_and_one_bad_set_is_ak9_p():
    two = base_file().decode().replace("GE*1*1", "GE*2*1")
    good = two[two.index("\nST*") + 1 : two.index("\nGE*") + 1]
    bad = good.replace("ST*820*0001", "ST*820*0002").replace("SE*12*0001", "SE*12*0002").replace("BPR*C*125.50", "BPR*C*1X")
    case = two.replace(good, good + bad).encode()
    assert acks(case) == [
        "AK1*RA*1",
        "AK2*820*0001",
        "AK5*A",
        "AK2*820*0002",
        "AK3*BPR*2**8",
        "AK4*2*782*6*1X",
        "AK5*R*5",
        "AK9*P*2*2*1",
    ]


# ---------------------------------------------------------------- TA1
def isa(**changes) -> bytes:
    """The base file with ISA elements replaced (positions as in X12: 1 = ISA01)."""
    text = BASE.decode()
    elements = text[:105].split("*")
    for position, value in changes.items():
        elements[int(position[1:])] = value
    return ("*".join(elements) + text[105:]).encode()


def test_ta1_accepted_when_requested():
    case = isa(p14="1")
    assert ta1s(case) == [("000000001", "A", "000")]
    assert acks(case)[-1] == "AK9*A*1*1*1"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"p9": "261340"}, "014"),  # not a date
        ({"p10": "2561"}, "015"),  # not a time
        ({"p12": "00501"}, "003"),  # version not supported
        ({"p14": "2"}, "019"),
        ({"p15": "X"}, "020"),
        ({"p11": "^"}, "016"),  # 00401 has no repetition separator
        ({"p8": "SOMEBODYELSE   "}, "009"),  # not addressed to the agency
        ({"p1": "99"}, "010"),
    ],
)
def test_envelope_errors_reject_the_interchange_with_a_ta1_and_no_997(change, code):
    case = isa(**change)
    assert ta1s(case) == [("000000001", "R", code)]
    assert acks(case) == []  # decision E2: no 997 inside a rejected envelope


def test_iea_control_number_mismatch_is_ta1_001():
    case = edit(BASE, "IEA*1*000000001", "IEA*1*000000002", fix_count=False)
    assert ta1s(case) == [("000000001", "R", "001")]


def test_iea_group_count_mismatch_is_ta1_021():
    case = edit(BASE, "IEA*1*000000001", "IEA*2*000000001", fix_count=False)
    assert ta1s(case) == [("000000001", "R", "021")]


def test_truncated_file_is_ta1_023():
    case = BASE[: BASE.index(b"GE*")]
    assert ta1s(case) == [("000000001", "R", "023")]


def test_unpadded_isa_is_rejected_with_the_element_at_fault():
    """Decision E1: a readable ISA that is not fixed width."""
    case = BASE.replace(b"*ZZ*BANKOFTEST     *", b"*ZZ*BANKOFTEST*", 1)
    assert ta1s(case) == [("000000001", "R", "006")]


def test_a_segment_outside_any_set_is_ta1_022():
    case = edit(BASE, "GE*1*1", "RMR*11*123456782RM0001**1.00~\nGE*1*1", fix_count=False)
    assert ta1s(case) == [("000000001", "R", "022")]


def test_bad_gs_date_is_ta1_024():
    case = edit(BASE, "*20261120*0930*1*X*", "*20261340*0930*1*X*", fix_count=False)
    assert ta1s(case) == [("000000001", "R", "024")]


def test_the_same_interchange_twice_in_a_file_is_ta1_025_on_the_second():
    case = BASE + BASE
    assert ta1s(case) == [("000000001", "R", "025")]
    assert acks(case) == ["AK1*RA*1", "AK2*820*0001", "AK5*A", "AK9*A*1*1*1"]


def test_each_interchange_of_a_file_is_judged_on_its_own():
    second = edit(base_file(control_number=2), "IEA*1*000000002", "IEA*1*000000003", fix_count=False)
    case = base_file() + second
    from .edi_helpers import validate

    codes = [(ic.control_number, ic.ta1_code) for ic in validate(case).interchanges]
    assert codes == [("000000001", "000"), ("000000002", "001")]


def test_a_ta1_never_echoes_an_invalid_control_number_date_or_time():
    """Decision E13: the TA1 itself must be valid X12 even when the ISA it answers is not."""
    from datetime import datetime

    from edi.acks import ta1_interchanges

    from .edi_helpers import validate

    case = isa(p9="261340", p13="00000001A")
    (ic,) = validate(case).interchanges
    assert (ic.ta1_ack, ic.ta1_code) == ("R", "014")  # the date comes first; the others are logged
    assert {c for c, _ in ic.envelope_problems} == {"014", "018", "001"}  # IEA02 no longer matches either
    (outbound,) = ta1_interchanges(ic, lambda partner, kind: 5, datetime(2026, 11, 21, 8, 15))
    assert outbound.ta1s == [("000000000", "261121", "0930", "R", "014")]  # ISA10 was fine: echoed


@pytest.mark.parametrize(
    ("old", "new", "recount", "expected"),
    [
        ("GS*RA*BANKOFTEST*CBSACARM*20261120*0930*1*", "GS*RA*BANKOFTEST*CBSACARM*20261120*0930*ABC*", False, "AK1*RA*0"),
        ("ST*820*0001", "ST*820*01", False, "AK2*820*0000"),
        ("CUR*PR*CAD~", "CUR*PR*CAD~\nX*1~", True, "AK3*ZZZ*5**1"),
    ],
)
def test_a_malformed_value_is_not_echoed_into_the_997(old, new, recount, expected):
    """The 997 must itself be valid X12: a bad GS06, ST02 or segment ID gets a placeholder."""
    from datetime import datetime

    from edi.acks import functional_ack_interchanges

    from .edi_helpers import pyx12_verdict, validate

    case = edit(BASE, old, new, fix_count=recount)
    assert expected in acks(case)
    (ic,) = validate(case).interchanges
    (outbound,) = functional_ack_interchanges(ic, lambda partner, kind: 1, datetime(2026, 11, 21, 9, 0))
    ok, detail = pyx12_verdict(outbound.render())
    assert ok, detail


def test_a_repeated_line_number_is_a_997_error():
    """Lines are numbered 1, 2, 3… in file order (820 guide); the number keys each line's verdict."""
    case = edit(BASE, "ENT*2~", "ENT*1~")
    assert acks(case) == ["AK1*RA*1", "AK2*820*0001", "AK3*ENT*10**8", "AK4*1*554*7*1", "AK5*R*5", "AK9*R*1*1*0"]


def test_a_segment_count_with_a_leading_zero_is_a_number():
    """SE01 is N0: 012 is 12 (as pyx12 and the GE01/IEA01 checks read it)."""
    assert acks(edit(BASE, "SE*12*0001", "SE*012*0001", fix_count=False))[-2:] == ["AK5*A", "AK9*A*1*1*1"]


# ---------------------------------------------------------------- refusals: decided before the 997
# A positive 997 is the payer's proof of payment (memo D17-5-1 §30, 820 guide): a payment the
# engine will not apply is rejected in the 997 itself, with the AK3/AK4 that points at the
# element at fault (AK4 code 7: a value the guide does not accept), and the 824 says why (TR).
def _facts(**changes):
    from ledger.checks import PaymentFacts

    known = {"businesses": {"123456782": "importer", "300000007": "broker"}, "active_brokers": frozenset({"300000007"}),
             "program_accounts": {"123456782RM0001": "active", "123456782RM0002": "active"}}
    return PaymentFacts(**{**known, **changes})


def _ledger(**changes):
    """The ledger's own account checks (`ledger.checks.account_check`) over facts given here."""
    from ledger.checks import account_check

    return lambda payments, earlier: account_check(_facts(**changes), payments, None, earlier)


PAYER_ASEC = "N1*PR*NORTHERN IMPORTS LTD*FI*123456782~\n"
REFUSALS = {
    "a wire transfer (D17-R27)": (edit(BASE, "C*ACH*", "C*FWT*"), None, ["AK3*BPR*2**8", "AK4*4*591*7*FWT"]),
    "a cheque: paper, to headquarters (D17-R26)": (edit(BASE, "C*ACH*", "C*CHK*"), None, ["AK3*BPR*2**8", "AK4*4*591*7*CHK"]),
    "a currency other than CAD (D17-R29)": (edit(BASE, "CUR*PR*CAD", "CUR*PR*USD"), None, ["AK3*CUR*4**8", "AK4*2*100*7*USD"]),
    "lines that do not add up to BPR02": (edit(BASE, "BPR*C*125.50", "BPR*C*125.51"), None, ["AK3*BPR*2**8", "AK4*2*782*7*125.51"]),
    "amounts not above zero": (
        edit(edit(edit(BASE, "BPR*C*125.50", "BPR*C*0.00"), "**100.00~", "**0.00~"), "**25.50~", "**0.00~"),
        None,
        ["AK3*BPR*2**8", "AK4*2*782*7*0.00", "AK3*RMR*9**8", "AK4*4*782*7*0.00", "AK3*RMR*11**8", "AK4*4*782*7*0.00"],
    ),
    "a payer BN9 that fails its check digit": (edit(BASE, "FI*123456782", "FI*123456789"), None, ["AK3*N1*7**8", "AK4*4*67*7*123456789"]),
    "a malformed payer security account": (edit(BASE, PAYER_ASEC, PAYER_ASEC + "REF*ZZ*BAD~\n"), None, ["AK3*REF*8**8", "AK4*2*127*7*BAD"]),
    "a trace number the FI already sent (decision L10)": (
        BASE, _ledger(posted_traces={("ZZ:BANKOFTEST", "TRACE0001"): ("another-file", "000000009", "9", "0001")}),
        ["AK3*TRN*3**8", "AK4*2*127*7*TRACE0001"],
    ),
    "an unknown payer": (BASE, _ledger(businesses={}), ["AK3*N1*7**8", "AK4*4*67*7*123456782"]),
    "a broker paying without its security account (Annex F)": (
        edit(BASE, "FI*123456782", "FI*300000007"), _ledger(), ["AK3*REF*8**3"],
    ),
    "a security account that is not the payer's": (
        edit(BASE, PAYER_ASEC, PAYER_ASEC + "REF*ZZ*40001~\n"), _ledger(security_accounts={"40001": ("300000007", "active")}),
        ["AK3*REF*8**8", "AK4*2*127*7*40001"],
    ),
}


@pytest.mark.parametrize("name", list(REFUSALS))
def test_a_refused_payment_is_rejected_in_the_997_at_the_element_at_fault(name):
    case, checks, detail = REFUSALS[name]
    assert ack_segments(case, checks) == ["AK1*RA*1", "AK2*820*0001", *detail, "AK5*R*5", "AK9*R*1*1*0"]


def test_a_refused_set_still_gets_its_824_saying_why():
    """The 824 answers every set that passed syntax: a refused one with OTI*TR and its TEDs."""
    import io
    from datetime import datetime

    from edi.pipeline import acknowledge_file
    from edi.store import MemoryEdiStore

    outcome = acknowledge_file(io.BytesIO(edit(BASE, "CUR*PR*CAD", "CUR*PR*USD")), "usd.x12", store=MemoryEdiStore(),
                               at=datetime(2026, 11, 21, 8, 15))
    advice = outcome.documents["824"][1].decode()
    assert "OTI*TR*TN*TRACE0001*BANKOFTEST*CBSACARM*20261120*0930*1*0001*820*004010~" in advice
    assert "TED*012*currency USD is not accepted - CAD only*CUR*4*2*100*USD~" in advice
    assert outcome.exit_code == 1


def test_a_line_set_aside_keeps_the_997_positive():
    """A line that cannot be applied yet (an account the ledger does not know) goes to suspense:
    the payment is accepted, so the 997 is positive; the 824 says TE and names the line."""
    case, checks = BASE, _ledger(program_accounts={"123456782RM0001": "active"})
    assert ack_segments(case, checks) == ["AK1*RA*1", "AK2*820*0001", "AK5*A", "AK9*A*1*1*1"]


def test_one_accepted_and_one_refused_payment_is_ak9_p():
    from edi.samples import LineSpec, PaymentSpec, file_820

    good = PaymentSpec("GOOD1", "123456782", [LineSpec("123456782RM0001", 10_00)])
    wire = PaymentSpec("WIRE1", "123456782", [LineSpec("123456782RM0001", 20_00)], method="FWT")
    assert ack_segments(file_820([good, wire])) == [
        "AK1*RA*1", "AK2*820*0001", "AK5*A", "AK2*820*0002", "AK3*BPR*2**8", "AK4*4*591*7*FWT", "AK5*R*5", "AK9*P*2*2*1",
    ]
