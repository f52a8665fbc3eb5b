"""SMS user data for WAP push: the User Data Header (3GPP TS 23.040 §9.2.3.24).

A UDH is UDHL (1 octet) followed by information elements, each IEI, IEDL, data. The ones a
WAP push uses: 0x05 application port addressing, 16-bit (destination 2948, source 9200),
0x00 concatenation with an 8-bit reference, 0x08 with a 16-bit reference. Sans-IO.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Information element identifiers (TS 23.040 §9.2.3.24, Table).
IEI_CONCAT_8 = 0x00
IEI_PORTS_8 = 0x04
IEI_PORTS_16 = 0x05
IEI_CONCAT_16 = 0x08
#: WDP ports (WAP-259-WDP Appendix B): the WAP push connectionless session service.
WAP_PUSH_PORT = 2948
WAP_PUSH_SOURCE_PORT = 9200


@dataclass(frozen=True)
class UserDataHeader:
    """The information elements of a UDH, in order."""

    elements: tuple[tuple[int, bytes], ...]

    def element(self, iei: int) -> bytes | None:
        return next((data for i, data in self.elements if i == iei), None)

    @property
    def ports(self) -> tuple[int, int] | None:
        """(destination, source) application ports, when addressed."""
        data = self.element(IEI_PORTS_16)
        if data is not None and len(data) == 4:
            return int.from_bytes(data[:2], "big"), int.from_bytes(data[2:], "big")
        data = self.element(IEI_PORTS_8)
        if data is not None and len(data) == 2:
            return data[0], data[1]
        return None

    @property
    def concatenation(self) -> tuple[int, int, int] | None:
        """(reference, total, sequence) when the message is one segment of several."""
        data = self.element(IEI_CONCAT_8)
        if data is not None and len(data) == 3:
            return data[0], data[1], data[2]
        data = self.element(IEI_CONCAT_16)
        if data is not None and len(data) == 4:
            return int.from_bytes(data[:2], "big"), data[2], data[3]
        return None


def split_user_data_header(user_data: bytes) -> tuple[UserDataHeader, bytes] | None:
    """Split SMS user data into its UDH and payload; None when the octets do not start with a
    well-formed UDH (the elements must fill UDHL exactly)."""
    if not user_data:
        return None
    udhl = user_data[0]
    if udhl < 2 or udhl + 1 > len(user_data):
        return None
    elements = []
    pos, end = 1, udhl + 1
    while pos < end:
        if pos + 2 > end:
            return None
        iei, length = user_data[pos], user_data[pos + 1]
        if pos + 2 + length > end:
            return None
        elements.append((iei, bytes(user_data[pos + 2:pos + 2 + length])))
        pos += 2 + length
    return UserDataHeader(tuple(elements)), bytes(user_data[end:])
