"""The EDI layer: X12 820 payment files in; 997, TA1 and 824 out.  No SQL: what must
persist goes through `edi.store.EdiStore`.

Stages, each a plain function returning values (problems included):

    read      edi.reader.X12Reader          bytes → positioned segments
    validate  edi.validate.validate_stream  envelope + pyx12 map → FileResult
    type      edi.payments                  820 set → Payment (integer cents)
    judge     edi.advice.judge              Payment → PaymentVerdict (824 TA/TE/TR)
    answer    edi.acks, edi.advice          → 997 / TA1 / 824 interchanges
    all       edi.pipeline.acknowledge_file

Exceptions: none are raised for bad input; `EdiError` is the base of the
few raised for broken infrastructure (see `edi.errors`).
"""

from .advice import Finding, LineVerdict, PaymentVerdict, judge
from .errors import EdiError
from .payments import Payment, RemittanceLine, Source
from .pipeline import Outcome, SetOutcome, acknowledge, acknowledge_file
from .reader import Delimiters, Segment, X12Reader
from .results import ElementError, FileResult, GroupResult, InterchangeResult, SegmentError, SetResult
from .store import EdiStore, MemoryEdiStore
from .validate import validate_path, validate_stream

__all__ = [
    "Delimiters",
    "EdiError",
    "EdiStore",
    "ElementError",
    "FileResult",
    "Finding",
    "GroupResult",
    "InterchangeResult",
    "LineVerdict",
    "MemoryEdiStore",
    "Outcome",
    "Payment",
    "PaymentVerdict",
    "RemittanceLine",
    "Segment",
    "SegmentError",
    "SetOutcome",
    "SetResult",
    "Source",
    "X12Reader",
    "acknowledge",
    "acknowledge_file",
    "judge",
    "validate_path",
    "validate_stream",
]
