"""What validation finds, as values: the input of the 997 and TA1 writers.

The tree mirrors the X12 envelope — file → interchange → group → set — and
each level carries the codes its acknowledgement needs:

* `InterchangeResult.ta1_code` — TA105 (`000` when the envelope is sound);
* `GroupResult.codes` — AK905… (functional group errors);
* `SetResult.codes` — AK502… and `SetResult.errors`, the AK3/AK4 detail.

The ack codes (AK501, AK901, TA104) are derived here, in one place, so the
997 writer, the 824 step and the CLI summary cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from core.problems import Problem

__all__ = [
    "ElementError",
    "SegmentError",
    "SetResult",
    "GroupResult",
    "InterchangeResult",
    "FileResult",
    "GroupHeader",
    "TA1_TEXT",
    "AK5_TEXT",
    "AK9_TEXT",
]

#: TA105 interchange note codes used by the engine (X12 I18).
TA1_TEXT = {
    "000": "no error",
    "001": "interchange control number in header and trailer do not match",
    "003": "this version of the controls is not supported",
    "004": "the segment terminator is invalid",
    "005": "invalid interchange ID qualifier for sender",
    "006": "invalid interchange sender ID",
    "007": "invalid interchange ID qualifier for receiver",
    "008": "invalid interchange receiver ID",
    "009": "unknown interchange receiver ID",
    "010": "invalid authorization information qualifier value",
    "011": "invalid authorization information value",
    "012": "invalid security information qualifier value",
    "013": "invalid security information value",
    "014": "invalid interchange date value",
    "015": "invalid interchange time value",
    "016": "invalid interchange standards identifier value",
    "017": "invalid interchange version ID value",
    "018": "invalid interchange control number value",
    "019": "invalid acknowledgment requested value",
    "020": "invalid test indicator value",
    "021": "invalid number of included groups value",
    "022": "invalid control structure",
    "023": "improper (premature) end-of-file",
    "024": "invalid interchange content (e.g. invalid GS segment)",
    "025": "duplicate interchange control number",
    "026": "invalid data element separator",
    "027": "invalid component element separator",
}

#: AK502 transaction set syntax error codes (X12 718).
AK5_TEXT = {
    "1": "transaction set not supported",
    "2": "transaction set trailer missing",
    "3": "transaction set control number in header and trailer do not match",
    "4": "number of included segments does not match actual count",
    "5": "one or more segments in error",
    "6": "missing or invalid transaction set identifier",
    "7": "missing or invalid transaction set control number",
    "23": "transaction set control number not unique within the functional group",
}

#: AK905 functional group syntax error codes (X12 716).
AK9_TEXT = {
    "1": "functional group not supported",
    "2": "functional group version not supported",
    "3": "functional group trailer missing",
    "4": "group control number in the functional group header and trailer do not agree",
    "5": "number of included transaction sets does not match actual count",
    "6": "group control number violates syntax",
}


@dataclass(frozen=True, slots=True)
class ElementError:
    """One AK4: a data element in error.

    Attributes:
        position: element position in the segment (AK401-1).
        component: component position inside a composite (AK401-2), or None.
        data_element: X12 data element reference number (AK402), '' if unknown.
        code: AK403 (1 mandatory missing … 10 exclusion violated).
        bad_value: copy of the bad data (AK404), '' when missing.
        message: human-readable reason.
    """

    position: int
    component: int | None
    data_element: str
    code: str
    bad_value: str
    message: str


@dataclass(frozen=True, slots=True)
class SegmentError:
    """One AK3: a segment in error, with its element errors.

    Attributes:
        segment_id: AK301.
        position: AK302, position of the segment in the set (ST = 1).
        loop_id: AK303 (LS loop identifier), usually ''.
        code: AK304 (1 unrecognized … 8 data element errors).
        message: human-readable reason.
        elements: the AK4s under this AK3.
        file_index / file_offset: where the segment sits in the file (None for
            a missing segment).
    """

    segment_id: str
    position: int
    loop_id: str
    code: str
    message: str
    elements: tuple[ElementError, ...] = ()
    file_index: int | None = None
    file_offset: int | None = None


@dataclass(frozen=True, slots=True)
class SetResult:
    """A transaction set as validated: the AK2…AK5 of one set.

    Attributes:
        set_id: ST01.
        control_number: ST02.
        codes: AK502–AK506 syntax error codes; empty when accepted.
        errors: AK3/AK4 detail.
        segment_count: segments actually counted, ST and SE included.
        file_index / file_offset: position of the ST in the file.
        payload: the business document built from the set (an `edi.payments.Payment`
            for a syntactically sound 820) or None.
        unchecked: segments left unvalidated once the set reached the limit of segment
            notes (`edi.limits.Limits.max_set_errors`); the set is rejected all the same.
    """

    set_id: str
    control_number: str
    codes: tuple[str, ...]
    errors: tuple[SegmentError, ...]
    segment_count: int
    file_index: int
    file_offset: int
    payload: Any = None
    unchecked: int = 0

    @property
    def ack_code(self) -> str:
        """AK501: `A` accepted or `R` rejected (the engine accepts nothing with errors)."""
        return "R" if self.codes or self.errors else "A"

    @property
    def accepted(self) -> bool:
        return self.ack_code == "A"


class GroupHeader(NamedTuple):
    """What a group's GS says that its answers echo (GS02–GS06), known before its sets close."""

    sender_code: str
    receiver_code: str
    date: str
    time: str
    control_number: str


@dataclass(frozen=True, slots=True)
class GroupResult:
    """A functional group as validated: what one 997 acknowledges.

    Attributes:
        functional_id: GS01.
        sender_code / receiver_code: GS02 / GS03.
        control_number: GS06.
        version: GS08.
        date / time: GS04 / GS05.
        declared_sets: GE01 as received (None when GE is missing or not a number).
        sets: the sets received.
        codes: AK905… group-level error codes.
        file_index: position of the GS in the file.
    """

    functional_id: str
    sender_code: str
    receiver_code: str
    control_number: str
    version: str
    date: str
    time: str
    declared_sets: int | None
    sets: tuple[SetResult, ...]
    codes: tuple[str, ...]
    file_index: int
    #: AK904, counted once (a group of 100,000 sets is asked for it once per set)
    accepted_count: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "accepted_count", sum(1 for s in self.sets if s.accepted))

    @property
    def header(self) -> GroupHeader:
        return GroupHeader(self.sender_code, self.receiver_code, self.date, self.time, self.control_number)

    @property
    def ack_code(self) -> str:
        """AK901, derived from the AK5s: A all accepted, P some, R none (or a group error); never E (decision E9)."""
        if self.codes or not self.sets:
            return "R"
        accepted = self.accepted_count
        if accepted == 0:
            return "R"
        return "P" if accepted < len(self.sets) else "A"


@dataclass(frozen=True, slots=True)
class InterchangeResult:
    """An interchange as validated.

    Attributes:
        sender / receiver: (ISA05, ISA06) and (ISA07, ISA08), IDs stripped.
        control_number: ISA13.
        date / time: ISA09 / ISA10.
        ack_requested: ISA14 == '1'.
        usage: ISA15 (`P` production, `T` test).
        ta1_code: TA105; '000' when the envelope is sound.
        ta1_message: what exactly was wrong, for operators.
        envelope_problems: every envelope problem found as (TA105 code, message);
            the TA1 carries one (`ta1_code`), the log carries them all.
        groups: the functional groups received.
        file_index / file_offset: position of the ISA in the file.
    """

    sender: tuple[str, str]
    receiver: tuple[str, str]
    control_number: str
    date: str
    time: str
    ack_requested: bool
    usage: str
    ta1_code: str
    ta1_message: str
    envelope_problems: tuple[tuple[str, str], ...]
    groups: tuple[GroupResult, ...]
    file_index: int
    file_offset: int

    @property
    def usable(self) -> bool:
        """False when the envelope is rejected: only a TA1 answers, nothing is posted."""
        return self.ta1_code == "000"

    @property
    def ta1_ack(self) -> str:
        return "A" if self.usable else "R"

    @property
    def needs_ta1(self) -> bool:
        return self.ack_requested or not self.usable


@dataclass(frozen=True, slots=True)
class FileResult:
    """Everything validation found in one file.

    Attributes:
        digest: SHA-256 of the file's bytes (hex).
        size: bytes read.
        interchanges: the interchanges found.
        problems: what the reader could not read (`Problem`s, `where` = byte offset).
    """

    digest: str
    size: int
    interchanges: tuple[InterchangeResult, ...]
    problems: tuple[Problem, ...] = field(default=())

    @property
    def usable(self) -> bool:
        """False when not one interchange could be read: there is nobody to answer."""
        return bool(self.interchanges)

    def sets(self):
        for interchange in self.interchanges:
            for group in interchange.groups:
                for st in group.sets:
                    yield interchange, group, st
