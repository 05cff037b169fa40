"""The 820 guide's constants, in one place (`docs/820-guide.md`, shared `820-GUIDE.md`)."""

from __future__ import annotations

__all__ = ["RECEIVER_QUALIFIER", "RECEIVER_ID", "SUPPORTED", "ACCEPTED_METHODS", "PAYMENT_KINDS"]

#: ISA07/ISA08 and GS03 of every inbound interchange; ISA05/06 and GS02 of what the engine sends.
RECEIVER_QUALIFIER, RECEIVER_ID = "ZZ", "CBSACARM"
#: (ISA12, GS08, GS01) accepted inbound → the transaction set each carries.
SUPPORTED = {("00401", "004010", "RA"): "820"}
#: BPR04 methods the agency takes by EDI (D17-R23, R27: no wire, no cheque by EDI).
ACCEPTED_METHODS = frozenset({"ACH", "BOP"})
#: REF*ZZ payment kinds (D17-R22): statement balance, advance, interim.
PAYMENT_KINDS = frozenset({"SOA", "ADV", "INT"})
