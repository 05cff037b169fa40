"""Typed payments: an 820 transaction set turned into immutable records.

`PaymentBuilder` is fed the segments of one set as the validator streams
them, so a 100,000-line payment never sits in memory as segments, only as
its `RemittanceLine`s.  It also makes the guide's syntax rules that pyx12's
map cannot express (`docs/820-guide.md`), returning them as `SegmentError`s
for the 997:

* an amount that is not whole cents (`12.345`) — AK4 code 6, since no
  integer number of cents can hold it (money is never rounded);
* an `ENT` with no `RMR` — AK3 code 3 on the missing `RMR` (pyx12 cannot see it);
* a line `REF` qualifier (`ZZ` security account, `TN` transaction number) sent twice in one
  `ENT` — AK3 code 5, as if each were its own segment (pyx12 counts them as one).

Money is integer cents everywhere; `core.money.parse_amount` is the only place
text becomes money.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import repeat
from operator import itemgetter
from typing import NamedTuple

from core.money import MAX_DIGITS, TWO_PLACES, digit_count, is_number, parse_amount
from core.text import number as ascii_number

from .limits import HARD_MAX_PAYMENT_CENTS
from .reader import Segment
from .results import ElementError, SegmentError

__all__ = ["Payment", "RemittanceLine", "Source", "PaymentBuilder"]

@dataclass(frozen=True, slots=True)
class Source:
    """Where a payment came from, down to the bytes.

    Attributes:
        file_digest: SHA-256 of the file (hex).
        sender: ISA05:ISA06 of the interchange.
        interchange: ISA13.
        group: GS06.
        set_control: ST02.
        file_index: index of the ST segment in the file.
        test: True when ISA15 = `T` (validated and acknowledged, never posted).
    """

    file_digest: str
    sender: str
    interchange: str
    group: str
    set_control: str
    file_index: int
    test: bool = False


class RemittanceLine(NamedTuple):
    """One ENT loop: an amount for one importer account (a named tuple: a file makes one per line,
    100,000 in a large set, and a tuple is made in C — decision E29).

    Attributes:
        number: ENT01, the line's number in the payment (1, 2, 3… in file order, checked).
        rm15: RMR02, the importer's program account.
        amount_cents: RMR04 in cents.
        asec: REF*ZZ after the RMR, or None when not given.
        position: position of the RMR in the set (for TED04 / AK302).
        file_index: index of the RMR segment in the file.
        transaction_number: REF*TN after the RMR — the debt an advance payment pays first
            (D17-R22) — or None when not given.
        asec_position / transaction_position: position of those REFs in the set.
    """

    number: int
    rm15: str
    amount_cents: int
    asec: str | None
    position: int
    file_index: int
    transaction_number: str | None = None
    asec_position: int | None = None
    transaction_position: int | None = None


@dataclass(frozen=True, slots=True)
class Payment:
    """One 820 transaction set: one payment (820 guide, D17 Annexes F/G).

    Attributes:
        kind: REF*ZZ in the header — `SOA`, `ADV` or `INT` (D17-R22).
        total_cents: BPR02.
        method: BPR04 (`ACH`, `BOP`; others are refused by the checks, D17-R27).
        credit_debit: BPR03.
        handling: BPR01.
        effective_date: BPR16, or None when it is not a date.
        trace: TRN02, the FI's trace number (the duplicate key).
        originator: TRN03.
        currency: CUR02, or None when no CUR was sent.
        created: DTM*097 date and time, or None.
        payer_name / payer_bn9: N102 / N104 of the PR loop.
        payer_asec: REF*ZZ in the PR loop, or None.
        lines: the remittance lines in file order.
        source: where it came from.
        positions: position in the set of the header segments, by role
            (`BPR`, `TRN`, `CUR`, `KIND`, `PAYER`, `PAYER_ASEC`), for TED04.
    """

    kind: str
    total_cents: int
    method: str
    credit_debit: str
    handling: str
    effective_date: date | None
    trace: str
    originator: str
    currency: str | None
    created: datetime | None
    payer_name: str
    payer_bn9: str
    payer_asec: str | None
    lines: tuple[RemittanceLine, ...]
    source: Source
    positions: tuple[tuple[str, int], ...] = ()

    def position_of(self, role: str) -> int | None:
        return next((pos for key, pos in self.positions if key == role), None)

    @property
    def lines_total_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines)


_NO_REFS: dict = {}  # a line without REF*ZZ/TN (never written to: `_line_ref` makes a line's own)
_NONE: tuple = ()  # no errors: immutable, so a slip that added to it would raise, not add to every later set
_two_places = TWO_PLACES.fullmatch  # RMR04 as usually written: its cents without `parse_amount`'s call
_new_line = tuple.__new__  # RemittanceLine's fields in order, without the generated __new__'s keyword handling
_ACCOUNT, _RMR04, _REF02 = itemgetter(2), itemgetter(4), itemgetter(2)  # of a segment's elements


def _parse_date(text: str) -> date | None:
    try:
        return datetime.strptime(text, "%Y%m%d").date() if len(text) == 8 else None
    except ValueError:
        return None


class PaymentBuilder:
    """Builds one `Payment` from the segments of an 820 set, fed in order."""

    def __init__(self, source: Source) -> None:
        self._source = source
        self._fields: dict[str, str] = {}
        self._created: datetime | None = None
        self._loop = "header"
        self._lines: list[RemittanceLine] = []
        self._ent_number: int | None = None
        self._ent_position = 0
        self._rmr: tuple[str, int | None, int, int] | None = None
        self._line_refs: dict[str, tuple[str, int]] = _NO_REFS  # a dict of its own once a line has a REF
        self._line_ref_count = 0
        self._ordinal = 0
        self._total: int | None = None
        self._positions: dict[str, int] = {}
        self._previous = ""

    def _amount(self, seg: Segment, position: int, element: int, data_element: str) -> tuple[int | None, list[SegmentError]]:
        text = seg.get(element)
        cents = parse_amount(text)
        if cents is not None and abs(cents) > HARD_MAX_PAYMENT_CENTS:
            # 17 or 18 digits before the point: more cents than the books' 64-bit integers hold (decision E18)
            error = ElementError(element, None, data_element, "5", text,
                                 f"{seg.id}{element:02d} {text} has more than 16 digits before the decimal point")
            return None, [SegmentError(seg.id, position, "", "8", error.message, (error,), seg.index, seg.offset)]
        # Too long (R 1/18) is the map's finding (AK4 code 5); this one is the fraction of a cent.
        if cents is None and is_number(text) and digit_count(text) <= MAX_DIGITS:
            error = ElementError(
                element, None, data_element, "6", text, f"{seg.id}{element:02d} {text!r} is not a whole number of cents"
            )
            return None, [SegmentError(seg.id, position, "", "8", error.message, (error,), seg.index, seg.offset)]
        return cents, []

    @staticmethod
    def _key_errors(seg: Segment, position: int, what: str) -> list[SegmentError]:
        """Element 02 of TRN or RMR is a key — the payment's trace, a line's account — that the
        824 echoes in OTI03 and the books record: blanks around it would make two keys of one, and
        a blank one none at all (decision E19)."""
        value = seg.get(2)
        if not value or value == value.strip(" "):
            return []
        if not value.strip(" "):
            error = ElementError(2, None, "127", "1", "", f"{seg.id}02 {what} is blank")
        else:
            error = ElementError(2, None, "127", "7", value, f"{seg.id}02 {what} has leading or trailing spaces")
        return [SegmentError(seg.id, position, "", "8", error.message, (error,), seg.index, seg.offset)]

    def feed(self, seg: Segment, position: int) -> Sequence[SegmentError]:
        """Take the next segment of the set; return guide-level syntax errors."""
        elements = seg.elements
        sid = elements[0]
        previous, self._previous = self._previous, sid
        errors: Sequence[SegmentError] = _NONE
        if sid == "RMR":  # the remittance lines first: most of a set
            if self._loop == "ent" and self._rmr is None:
                account = elements[2] if len(elements) > 2 else ""
                amount = elements[4] if len(elements) > 4 else ""
                cents = int(amount.replace(".", "")) if _two_places(amount) is not None else parse_amount(amount) if amount else None
                if cents is None or not -HARD_MAX_PAYMENT_CENTS <= cents <= HARD_MAX_PAYMENT_CENTS or account != account.strip(" "):
                    # something to say of it: `_amount` and `_key_errors` say it
                    cents, errors = self._amount(seg, position, 4, "782")
                    errors += self._key_errors(seg, position, "account")
                self._rmr = (account, cents, position, seg.index)
            return errors
        if sid == "ENT":
            rmr = self._rmr
            if rmr is not None and self._line_refs is _NO_REFS and self._ent_number is not None and self._loop == "ent":
                # the usual line — ENT, RMR, no REF — closed here: `_close_line` says the same of it
                if rmr[1] is not None:
                    self._lines.append(_new_line(RemittanceLine, (self._ent_number, rmr[0], rmr[1], None, rmr[2], rmr[3],
                                                                  None, None, None)))
                self._ent_number = self._rmr = None
                self._line_ref_count = 0
            else:
                errors = self._close_line(seg, position, directly_after_ent=previous == "ENT")
            self._loop = "ent"
            self._ordinal = ordinal = self._ordinal + 1
            self._ent_number = ordinal
            self._ent_position = position
            number = elements[1] if len(elements) > 1 else ""
            if number == str(ordinal) or ascii_number(number, 6) == ordinal:  # ENT01 N0 1/6
                return errors
            return self._misnumbered(seg, position, number)
        if sid == "SE":
            errors = self._close_line(seg, position, directly_after_ent=False)
        elif sid == "BPR":
            self._positions["BPR"] = position
            self._fields.update(handling=seg.get(1), credit_debit=seg.get(3), method=seg.get(4), date=seg.get(16))
            self._total, errors = self._amount(seg, position, 2, "782")
        elif sid == "TRN":
            self._positions["TRN"] = position
            self._fields.update(trace=seg.get(2), originator=seg.get(3))
            errors = self._key_errors(seg, position, "trace number")
        elif sid == "CUR":
            self._positions["CUR"] = position
            self._fields["currency"] = seg.get(2)
        elif sid == "DTM" and seg.get(1) == "097":
            day = _parse_date(seg.get(2))
            if day is not None:
                hhmm = seg.get(3)
                try:
                    when = datetime.strptime(hhmm[:4], "%H%M").time() if len(hhmm) >= 4 else datetime.min.time()
                except ValueError:
                    when = datetime.min.time()
                self._created = datetime.combine(day, when)
        elif sid == "N1":
            self._loop = "payer" if seg.get(1) == "PR" else "payee" if seg.get(1) == "PE" else "n1"
            if self._loop == "payer":
                self._positions["PAYER"] = position
                self._fields.update(payer_name=seg.get(2), payer_bn9=seg.get(4))
        elif sid == "REF" and seg.get(1) == "ZZ":
            if self._loop == "header":
                self._positions["KIND"] = position
                self._fields["kind"] = seg.get(2)
            elif self._loop == "payer":
                self._positions["PAYER_ASEC"] = position
                self._fields["payer_asec"] = seg.get(2)
            elif self._loop == "ent" and self._rmr is not None:
                errors = self._line_ref(seg, position)
        elif sid == "REF" and seg.get(1) == "TN" and self._loop == "ent" and self._rmr is not None:
            errors = self._line_ref(seg, position)
        return errors

    def take_lines(self, pieces: list[str], shape: int, qualifier: str | None, element: str, position: int, index: int) -> int:
        """Take whole lines at once, as `feed` would one segment at a time: `pieces` are the segments that
        follow the ENT just fed (at `position` in the set, `index` in the file), written one after
        another, `shape` a line — its RMR, a REF with this `qualifier` when `shape` is 3, then the next
        line's ENT (each segment one its map's pattern accepts).  The lines are taken up to the first
        one `feed` would have something to say of — an amount not written with two decimal places, an
        account with spaces around it, an ENT not numbered next; returns how many were taken.  Each
        check is a C function mapped over the lines (a Python loop only finds where one fails).  None
        is taken unless the ENT just fed opened a line of its own (not after a segment out of place,
        which leaves the line before it open: `feed` then says more)."""
        first = self._ordinal
        if (self._previous != "ENT" or self._loop != "ent" or self._ent_number != first or self._rmr is not None
                or self._line_refs is not _NO_REFS or self._line_ref_count):
            return 0
        count = len(pieces) // shape
        rmrs = list(map(str.split, pieces[0 : count * shape : shape], repeat(element)))
        accounts, amounts = list(map(_ACCOUNT, rmrs)), list(map(_RMR04, rmrs))
        ents = pieces[shape - 1 : count * shape : shape]
        expected = list(map(f"ENT{element}".__add__, map(str, range(first + 1, first + count + 1))))
        if not (all(map(_two_places, amounts)) and list(map(str.strip, accounts, repeat(" "))) == accounts and ents == expected):
            for i, (account, amount, ent, number) in enumerate(zip(accounts, amounts, ents, expected, strict=True)):
                if _two_places(amount) is None or account != account.strip(" ") or ent != number:
                    count = i
                    break
            del accounts[count:], amounts[count:]
        numbers = range(first, first + count)
        cents = map(int, map(str.replace, amounts, repeat("."), repeat("")))
        positions = range(position + 1, position + 1 + count * shape, shape)
        indexes = range(index + 1, index + 1 + count * shape, shape)
        nones = repeat(None)
        if shape == 2:
            fields = zip(numbers, accounts, cents, nones, positions, indexes, nones, nones, nones, strict=False)
        else:
            refs = map(_REF02, map(str.split, pieces[1 : count * shape : shape], repeat(element)))
            ref_positions = range(position + 2, position + 2 + count * shape, shape)
            if qualifier == "ZZ":  # the line's security account
                fields = zip(numbers, accounts, cents, refs, positions, indexes, nones, ref_positions, nones, strict=False)
            else:  # REF*TN: the debt the line pays
                fields = zip(numbers, accounts, cents, nones, positions, indexes, refs, nones, ref_positions, strict=False)
        self._lines += map(_new_line, repeat(RemittanceLine), fields)
        if count:
            self._ordinal = self._ent_number = first + count
            self._ent_position = position + count * shape
            self._previous = "ENT"
        return count

    def _misnumbered(self, seg: Segment, position: int, number: str) -> list[SegmentError]:
        # the guide numbers lines 1, 2, 3… in file order; the number keys the line's verdict
        error = ElementError(1, None, "554", "7", number, f"ENT01 {number[:12]!r} is not line number {self._ordinal}")
        return [SegmentError("ENT", position, "", "8", error.message, (error,), seg.index, seg.offset)]

    def _line_ref(self, seg: Segment, position: int) -> list[SegmentError]:
        """Keep a line's REF*ZZ or REF*TN; the second of one qualifier is AK3 code 5 (the map lets
        two REFs through, one of each; a third is the map's own code 5)."""
        self._line_ref_count += 1
        qualifier = seg.get(1)
        if qualifier in self._line_refs:
            if self._line_ref_count > 2:
                return []
            message = f"REF*{qualifier} is sent twice in ENT {self._ent_number} - segment exceeds maximum use"
            return [SegmentError("REF", position, "", "5", message, (), seg.index, seg.offset)]
        if self._line_refs is _NO_REFS:
            self._line_refs = {}
        self._line_refs[qualifier] = (seg.get(2), position)
        return []

    def _close_line(self, seg: Segment, position: int, directly_after_ent: bool) -> list[SegmentError]:
        if self._loop != "ent" or self._ent_number is None:
            return []
        number, rmr, refs = self._ent_number, self._rmr, self._line_refs
        self._ent_number, self._rmr, self._line_refs, self._line_ref_count = None, None, _NO_REFS, 0
        if rmr is None:
            if not directly_after_ent:
                return []  # pyx12's walker reports this one (the ENT loop held another segment, or SE came)
            # PYX12-NOTES: an ENT followed directly by ENT is invisible to the map walker.
            message = f"ENT {number} (segment {self._ent_position}) has no RMR - mandatory segment missing"
            return [SegmentError("RMR", position, "", "3", message, (), None, None)]
        rm15, cents, rmr_position, rmr_index = rmr
        asec, asec_position = refs.get("ZZ", ("", None))
        transaction, transaction_position = refs.get("TN", ("", None))
        if cents is not None:
            self._lines.append(_new_line(RemittanceLine, (number, rm15, cents, asec or None, rmr_position, rmr_index,
                                                          transaction or None, asec_position, transaction_position)))
        return []

    def finish(self) -> Payment | None:
        """The payment, or None when a required piece never arrived (the 997 says which)."""
        f = self._fields
        if self._total is None or "trace" not in f or "kind" not in f or "payer_bn9" not in f:
            return None
        return Payment(
            kind=f["kind"],
            total_cents=self._total,
            method=f.get("method", ""),
            credit_debit=f.get("credit_debit", ""),
            handling=f.get("handling", ""),
            effective_date=_parse_date(f.get("date", "")),
            trace=f["trace"],
            originator=f.get("originator", ""),
            currency=f.get("currency"),
            created=self._created,
            payer_name=f.get("payer_name", ""),
            payer_bn9=f["payer_bn9"],
            payer_asec=f.get("payer_asec") or None,
            lines=tuple(self._lines),
            source=self._source,
            positions=tuple(sorted(self._positions.items())),
        )
