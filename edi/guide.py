"""The 820 guide's constants, in one place (`docs/820-guide.md`, shared `820-GUIDE.md`)."""

from __future__ import annotations

import re

from core.text import ISA_QUALIFIERS

__all__ = [
    "ACCEPTED_METHODS",
    "ACKNOWLEDGED_GROUPS",
    "ACKNOWLEDGED_SETS",
    "ISA_QUALIFIERS",
    "PAYMENT_KINDS",
    "RECEIVER_ID",
    "RECEIVER_QUALIFIER",
    "SET_CONTROL",
    "SUPPORTED",
]

#: ISA07/ISA08 and GS03 of every inbound interchange; ISA05/06 and GS02 of what the engine sends.
RECEIVER_QUALIFIER, RECEIVER_ID = "ZZ", "CBSACARM"
#: (ISA12, GS08, GS01) accepted inbound → the transaction set each carries.
SUPPORTED = {("00401", "004010", "RA"): "820"}
#: BPR04 methods the agency takes by EDI (D17-R23, R27: no wire, no cheque by EDI).
ACCEPTED_METHODS = frozenset({"ACH", "BOP"})
#: REF*ZZ payment kinds (D17-R22): statement balance, advance, interim.
PAYMENT_KINDS = frozenset({"SOA", "ADV", "INT"})
#: ST02/SE02 (AN 4/9) as the engine takes it and echoes it in AK202 and OTI09: letters and
#: digits at both ends, spaces only inside (a translator strips trailing ones).
SET_CONTROL = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ]{2,7}[A-Za-z0-9]")
#: AK101 and AK201 values the engine's own 997 map accepts (`mappings/997.4010.xml`).
ACKNOWLEDGED_GROUPS = frozenset({"RA", "AG"})
ACKNOWLEDGED_SETS = frozenset({"820", "824"})
