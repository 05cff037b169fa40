"""Third-party X12 files (../shared/corpus) through the reader and the validator.

Three things are checked for every file of the MANIFEST:

1. nothing raises, whatever is in the file;
2. the reader finds what the corpus' own analyzer found (delimiters, segment,
   ISA, GS and ST counts in ANALYSIS.json) — the reader conformance;
3. the verdict agrees with the upstream project's: a file the MANIFEST calls
   invalid is rejected somewhere (reader, TA1, AK9 or AK5); a file it calls
   valid is not rejected for envelope structure — only, where it applies, for
   being addressed to someone else (TA1 007/009), in a version the engine does
   not take (TA1 003, `AK9` 1/2: the engine takes 820s of `docs/820-guide.md`
   only), or for an ISA that is not fixed width (decision E1).  Where upstream
   names the exact envelope error, the engine must name the same one.
"""

from __future__ import annotations

import csv
import json

import pytest

from edi.reader import X12Reader
from edi.validate import validate_path

from .conftest import CORPUS
from .edi_helpers import validate

pytestmark = pytest.mark.corpus

MANIFEST = list(csv.DictReader((CORPUS / "MANIFEST.tsv").open(encoding="utf-8"), delimiter="\t"))
ANALYSIS = json.loads((CORPUS / "ANALYSIS.json").read_text(encoding="utf-8"))
NAMES = [row["local_name"] for row in MANIFEST]
ROWS = {row["local_name"]: row for row in MANIFEST}

#: Problems that do not contradict "valid" upstream: the file is fine X12, just not for us.
NOT_FOR_US = {"003", "007", "009"}
#: Valid for a lenient upstream reader only; the engine is strict on purpose (docs/decisions.md).
STRICTER = {
    # line breaks every 80 characters inside segments: data, not layout (E5)
    # (ST02 `1<LF>305` is no control number either: AK5 7)
    "xlate__staedi/src__test__resources__x12__issue128__ts210_80char.edi": {"ta1:015", "ak5:3", "ak5:7"},
    # a TA1-only interchange must say IEA01 = 0 groups (MANIFEST: "strictly IEA01 should be 0")
    "UHIN__x12-parser-library/tests__test-files__TA1.edi": {"ta1:021"},
}
#: Invalid only against their own implementation guide (837, X218 820, 997, 940 bodies), which the
#: engine does not carry: it rejects them as unsupported (AK9 1/2, AK5 1), not for the upstream reason.
CONTENT_ONLY = {
    "azoner__pyx12/test__files__simple1.txt",
    "azoner__pyx12/test__files__mult_isa.txt",
    "irobayna__stupidedi/spec__fixtures__005010__X218-RA820__fail__1.edi",
    "irobayna__stupidedi/spec__fixtures__005010__X218-RA820__fail__2.edi",
    "irobayna__stupidedi/spec__fixtures__005010__X218-RA820__fail__3.edi",
    "irobayna__stupidedi/spec__fixtures__005010__X218-RA820__fail__4.edi",
    "xlate__staedi/src__test__resources__x12__empty997.edi",
    "olmelabs__EdiEngine/EdiEngine.Tests__TestData__AckTest.edi",
}
#: Upstream names the exact envelope error (MANIFEST `expected_result_or_reference`).
EXACT_TA1 = {
    "azoner__pyx12/test__files__ele.txt": "015",  # ISA10 3339: invalid interchange time
    "azoner__pyx12/test__files__fail_no_IEA.txt": "023",  # premature end of file
    "azoner__pyx12/test__files__trailer_errors.txt": "021",  # IEA01=5 for 1 group (pyx12 picks 018; MANIFEST: 021 fits)
    "tastypackets__x12-parser/test__testFiles__errorISA.edi": "001",  # IEA02 != ISA13
    "olmelabs__EdiEngine/EdiEngine.Tests__TestData__ControlNumbersMismatch.edi": "001",
    "olmelabs__EdiEngine/EdiEngine.Tests__TestData__WrongGroupsAndTranCount.edi": "021",
    "olmelabs__EdiEngine/EdiEngine.Tests__TestData__MultipleInterchangesAndGroups.edi": "001",  # decision E4
    "imsweb__x12-parser/src__test__resources__837_5010__x12_999_accepted.txt": "001",  # MANIFEST: strict -> TA1 001
    "albmarin__badX12/tests__files__errors__segment_terminator.edi": "023",  # EOF inside the interchange
    "imsweb__x12-parser/src__test__resources__837_5010__x12_bad_first_line.txt": "011",  # ISA02 9 characters
}
#: Upstream names group / set trailer errors.
EXACT_CODES = {
    "olmelabs__EdiEngine/EdiEngine.Tests__TestData__ControlNumbersMismatch.edi": ({"4"}, {"3"}),
    "olmelabs__EdiEngine/EdiEngine.Tests__TestData__WrongGroupsAndTranCount.edi": ({"5"}, set()),
    "olmelabs__EdiEngine/EdiEngine.Tests__TestData__940_Failed_SE01.edi": (set(), {"4"}),
    "azoner__pyx12/test__files__trailer_errors.txt": ({"4"}, {"4"}),
    "xlate__staedi/src__test__resources__x12__invalid997_min.edi": ({"4"}, set()),
    "imsweb__x12-parser/src__test__resources__837_5010__x12_valid_different_separators.txt": (set(), {"4"}),
}


def test_the_manifest_and_the_analysis_cover_the_same_files():
    assert sorted(NAMES) == sorted(ANALYSIS)
    assert len(NAMES) == 59


@pytest.mark.parametrize("name", NAMES)
def test_reader_agrees_with_the_corpus_analysis(name):
    facts = ANALYSIS[name]
    with (CORPUS / name).open("rb") as stream:
        reader = X12Reader(stream)
        segments = list(reader)
    if facts.get("no_ISA") or facts.get("n_ISA") == 0:
        assert segments == [] and [p.code for p in reader.problems] == ["no-isa"]
        return
    first = segments[0].delimiters
    assert first.element == facts["elem_sep"]
    assert first.component == facts["comp_sep"]
    assert first.segment == facts["seg_term"]
    assert first.suffix == facts["term_suffix"]
    ids = [s.id for s in segments]
    assert len(segments) == facts["n_segments"]
    assert (ids.count("ISA"), ids.count("GS"), ids.count("ST")) == (facts["n_ISA"], facts["n_GS"], facts["n_ST"])


def _rejections(result) -> set[str]:
    """Everything the engine rejected the file for, as labels."""
    found = {f"reader:{p.code}" for p in result.problems if p.code not in ("leading-bytes", "unterminated")}
    for ic in result.interchanges:
        found |= {
            "ta1:addressing" if message.startswith("addressing") else f"ta1:{code}"
            for code, message in ic.envelope_problems
        }
        for group in ic.groups:
            found |= {f"ak9:{c}" for c in group.codes}
            for st in group.sets:
                found |= {f"ak5:{c}" for c in st.codes}
    if not result.interchanges:
        found.add("unusable")
    return found


@pytest.mark.parametrize("name", NAMES)
def test_verdict_agrees_with_upstream(name):
    validity = ROWS[name]["intended_validity"]
    result = validate_path(CORPUS / name)
    rejections = _rejections(result)
    not_for_us = {f"ta1:{c}" for c in NOT_FOR_US} | {"ta1:addressing", "ak9:1", "ak9:2", "ak5:1"}
    not_for_us |= STRICTER.get(name, set())
    if "004010" in ANALYSIS[name].get("GS08", []) and "820" in ANALYSIS[name].get("ST01", []):
        not_for_us |= {"ak5:5"}  # an 820 written to another implementation guide than ours
    if validity == "valid-lenient" and ANALYSIS[name].get("isa_len", 106) != 106:
        not_for_us.add("ta1:022")
        not_for_us |= {"ta1:011", "ta1:013", "ta1:006", "ta1:008"}  # unpadded ISA elements (decision E1)
    if validity.startswith("invalid") or validity == "partly invalid":
        assert rejections, f"{name}: upstream says {validity!r}, the engine accepted it"
        if name not in CONTENT_ONLY:
            assert rejections - not_for_us, f"{name}: rejected only as not for us, not for what is wrong in it"
    elif validity.startswith("valid (") and "expected output" in validity or validity in ("valid", "valid (per stupidedi)", "valid-lenient"):
        assert rejections <= not_for_us, f"{name}: upstream says valid, the engine found {sorted(rejections - not_for_us)}"
    if name in EXACT_TA1:
        assert result.interchanges[0].ta1_code == EXACT_TA1[name]
    if name in EXACT_CODES:
        group_codes, set_codes = EXACT_CODES[name]
        groups = [g for ic in result.interchanges for g in ic.groups]
        assert group_codes <= {c for g in groups for c in g.codes}
        assert set_codes <= {c for g in groups for s in g.sets for c in s.codes}


def test_duplicate_interchange_control_number_in_one_file_is_ta1_025():
    """tastypackets' oneLine-2-ISA: the same ISA13 twice (upstream: TA1 025)."""
    result = validate_path(CORPUS / "tastypackets__x12-parser/test__testFiles__835__oneLine-2-ISA.edi")
    assert [ic.control_number for ic in result.interchanges] == ["006000600", "006000600"]
    assert "025" not in {c for c, _ in result.interchanges[0].envelope_problems}
    assert "025" in {c for c, _ in result.interchanges[1].envelope_problems}


def test_a_file_with_no_isa_is_unusable():
    result = validate_path(CORPUS / "imsweb__x12-parser/src__test__resources__837_5010__x12_no_isa_line.txt")
    assert result.interchanges == () and [p.code for p in result.problems] == ["no-isa"]


def test_a_foreign_820_readdressed_to_us_is_answered_as_an_unsupported_version():
    """pyx12's HIPAA 820 (GS08 004010X061A1) sent to CBSACARM: AK9*R*…*2, its set AK5*R*1."""
    data = (CORPUS / "azoner__pyx12/test__files__820.loops.txt").read_bytes()
    isa = data[:106].decode()
    readdressed = (isa[:54] + "CBSACARM       " + isa[69:]).encode() + data[106:]
    result = validate(readdressed)
    ic = result.interchanges[0]
    # still from someone else's world: ISA07 is not ZZ, GS03 is not CBSACARM — addressing only
    assert {c for c, _ in ic.envelope_problems} <= {"007", "024"}
    group = ic.groups[0]
    assert group.codes == ("2",) and group.sets[0].codes == ("1",)
