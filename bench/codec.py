"""Benchmark of the MMS codec: encode and decode an m-retrieve-conf with SMIL, text and a
300 KB JPEG, and one with a 3 MB video.

Prints microseconds per operation (best of several rounds) and ratios measured in the same
run: decode(3 MB) / decode(300 KB), which should stay near 1 because part data are
zero-copy slices, and each operation against one plain copy of the same octets (the cost
floor of any codec that copies the media).

    .venv/bin/python bench/codec.py
"""

from __future__ import annotations

import os
import sys
import timeit
from datetime import datetime, UTC
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mmsc.pdu import (  # noqa: E402
    ContentType, MessageClass, MessageType, MmsPdu, Part, Priority, decode, encode, encode_chunks,
)

SMIL = (b'<smil><head><layout><root-layout width="320" height="240"/>'
        b'<region id="Image" top="0" left="0" height="80%" width="100%"/>'
        b'<region id="Text" top="80%" left="0" height="20%" width="100%"/></layout></head>'
        b'<body><par dur="5000ms"><img src="cid:media" region="Image"/>'
        b'<text src="cid:text" region="Text"/></par></body></smil>')


def message(media_type: str, media: bytes) -> bytes:
    pdu = MmsPdu(
        MessageType.RETRIEVE_CONF, "T0123456789abcdef", "1.2", message_id="M0123456789",
        date=datetime(2026, 11, 22, 12, 0, tzinfo=UTC), sender="+33600000001/TYPE=PLMN",
        to=["+33600000002/TYPE=PLMN"], subject="Benchmark", message_class=MessageClass.PERSONAL,
        priority=Priority.NORMAL,
        content_type=ContentType("application/vnd.wap.multipart.related",
                                 {"type": "application/smil", "start": "<smil>"}),
        parts=[Part(ContentType("application/smil", {"charset": "utf-8"}),
                    [("Content-ID", "<smil>"), ("Content-Location", "smil.xml")], SMIL),
               Part(ContentType("text/plain", {"charset": "utf-8"}),
                    [("Content-ID", "<text>"), ("Content-Location", "text.txt")],
                    "Bonjour, voici la vidéo.".encode()),
               Part(ContentType(media_type, {"name": "media"}),
                    [("Content-ID", "<media>"), ("Content-Location", "media")], media)])
    return encode(pdu)


def best_us(stmt, number: int) -> float:
    return min(timeit.repeat(stmt, number=number, repeat=7)) / number * 1e6


def main() -> None:
    small = message("image/jpeg", b"\xff\xd8\xff\xe0" + os.urandom(300 * 1024 - 4))
    large = message("video/mp4", os.urandom(3 * 1024 * 1024))
    rows = []
    for label, data in (("300 KB JPEG", small), ("3 MB video", large)):
        pdu = decode(data)
        assert encode(pdu) == data
        dec = best_us(lambda: decode(data), 2000)
        enc = best_us(lambda: encode(pdu), 200)
        chunks = best_us(lambda: encode_chunks(pdu), 2000)
        copy = best_us(lambda: bytearray(data), 200)
        rows.append((label, len(data), dec, enc, chunks, copy))
    print(f"Python {sys.version.split()[0]} on {os.cpu_count()} CPUs")
    print(f"{'message':<12} {'octets':>9} {'decode µs':>10} {'encode µs':>10} "
          f"{'chunks µs':>10} {'copy µs':>9}")
    for label, size, dec, enc, chunks, copy in rows:
        print(f"{label:<12} {size:>9} {dec:>10.1f} {enc:>10.1f} {chunks:>10.1f} {copy:>9.1f}")
    (_, _, dec_s, _, _, copy_s), (_, _, dec_l, enc_l, _, copy_l) = rows
    print(f"decode(3 MB) / decode(300 KB) = {dec_l / dec_s:.2f}   (target <= 1.5)")
    print(f"decode(300 KB) = {dec_s:.1f} µs   (target < 100 µs)")
    print(f"decode / one copy of the octets: 300 KB {dec_s / copy_s:.3f}, 3 MB {dec_l / copy_l:.4f}")
    print(f"encode / one copy of the octets: 3 MB {enc_l / copy_l:.2f}")


if __name__ == "__main__":
    main()
