"""The kinds of SMS sender a VASP may send as (issue 18.6), pure: no I/O.

- A *short code*: 3 to 6 digits, the operator's own numbering (36000). Handsets can answer it.
- A *long number*: an E.164 number, "+" and up to 15 digits (ITU-T E.164 §6), or 7 to 15
  digits without the "+". Handsets can answer it.
- An *alphanumeric* sender ID: 1 to 11 characters of the GSM 03.38 default alphabet with at
  least one letter (TS 23.040 §9.1.2.5: an alphanumeric TP-OA holds 11 septets; an
  extension character takes two). Nothing can be sent back to it: no STOP either.
"""

from __future__ import annotations

import re

from .sms import gsm7_septets

SHORT_CODE, LONG_NUMBER, ALPHANUMERIC = "short code", "long number", "alphanumeric"
KINDS = (SHORT_CODE, LONG_NUMBER, ALPHANUMERIC)
#: Septets of an alphanumeric originating address (TS 23.040 §9.1.2.5).
ALPHANUMERIC_MAX = 11


def sender_kind(sender: str) -> str:
    """The kind of a sender (one of :data:`KINDS`), or ValueError saying why it is none."""
    if re.fullmatch(r"\d{3,6}", sender):
        return SHORT_CODE
    if re.fullmatch(r"\+\d{1,15}|\d{7,15}", sender):
        return LONG_NUMBER
    if re.fullmatch(r"\+?\d+", sender):
        raise ValueError("a number of more than 15 digits (E.164), or of 1, 2 digits")
    septets = gsm7_septets(sender)
    if septets is None:
        raise ValueError("a sender ID must be in the GSM 03.38 default alphabet")
    if len(septets) > ALPHANUMERIC_MAX:
        raise ValueError(f"a sender ID of {len(septets)} characters (GSM 03.38 septets): "
                         f"at most {ALPHANUMERIC_MAX}")
    if not any(ch.isalpha() for ch in sender):
        raise ValueError("a sender ID needs a letter")
    return ALPHANUMERIC
