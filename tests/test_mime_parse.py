"""The fast MIME reader against the stdlib parser: for any octets, the same entity.

Whatever ``parse_entity`` reads must equal what ``BytesParser(policy=compat32)`` reads
(headers, content types, defects, parts, payloads raw and decoded); the fast road must be
the one taken for what mmsc itself writes and for a regular MM7 submit, or the speed is
gone without a failing test.
"""

from __future__ import annotations

import random
from email.message import Message as MimeEntity
from email.parser import BytesParser
from email.policy import compat32
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmsc.message import RELATED, Envelope, Message, MessagePart
from mmsc.mime import to_mime
from mmsc.mime_parse import damage, parse_entity, regular_entity
from mmsc.mm7.soap import DEFAULT_NAMESPACE, build_submit

STDLIB = BytesParser(policy=compat32)


def dump(entity: MimeEntity) -> Any:
    """Everything of an entity that mmsc reads, comparable with ==."""
    shape = (entity.items(), entity.get_content_type(), entity.get_boundary(),
             [type(d).__name__ for d in entity.defects])
    if entity.is_multipart():
        return shape, [dump(child) for child in entity.get_payload()]
    return shape, entity.get_payload(), entity.get_payload(decode=True)


def same_as_stdlib(data: bytes) -> None:
    assert dump(parse_entity(data)) == dump(STDLIB.parsebytes(data))


def sample() -> Message:
    return Message(Envelope(originator="+33600000001/TYPE=PLMN", to=["+33600000002/TYPE=PLMN"],
                            subject="Grüße"),
                   [MessagePart("application/smil", b"<smil><body/></smil>", content_id="smil"),
                    MessagePart("image/jpeg", random.Random(1).randbytes(5000),
                                content_id="img", content_location="a.jpg"),
                    MessagePart.from_text("line one\nline two é", content_id="txt")],
                   multipart=RELATED, start="smil")


def test_what_mmsc_writes_takes_the_fast_road() -> None:
    stored = to_mime(sample())
    assert regular_entity(stored) is not None
    same_as_stdlib(stored)
    body, content_type = build_submit(namespace=DEFAULT_NAMESPACE, version="6.8.0",
                                      transaction_id="t1", vasp_id="v", vas_id=None,
                                      sender="36000", message=sample())
    http = f"Content-Type: {content_type}\r\n\r\n".encode() + body
    entity = regular_entity(http)
    assert entity is not None and len(entity.get_payload()) == 2
    same_as_stdlib(http)


# Hand-made shapes around every rule of the fast road: each is read as the stdlib reads it,
# through the fast road or past it.
CASES = {
    "lf line ends": b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain"
                    b"\n\nhi\n--b--\n",
    "lf bodies under crlf headers": b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
                                    b"Content-Type: text/xml\r\n\r\n<a>\n</a>\n--b\r\n\r\nx\r\n"
                                    b"--b--",
    "missing close delimiter": b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n"
                               b"one\r\n--b\r\n\r\ntwo\r\n",
    "no delimiter at all": b"Content-Type: multipart/mixed; boundary=b\r\n\r\nplain text\r\n",
    "no boundary": b"Content-Type: multipart/mixed\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
    "preamble, epilogue, padding": b"Content-Type: multipart/mixed; boundary=\"b c\"\r\n\r\n"
                                   b"preamble\r\n--b c \t\r\n\r\none\r\n--b c--  \r\nafter\r\n",
    "empty parts": b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n--b\r\n\r\n\r\n--b--",
    "adjacent delimiters": b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n--b--\r\nrest\r\n",
    "delimiter-like lines": b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n"
                            b"--bb\r\nx --b\r\n--b-x\r\n--b--\r\n",
    "nested": b"Content-Type: multipart/related; boundary=o\r\n\r\n--o\r\nContent-Type: "
              b"multipart/mixed; boundary=i\r\n\r\n--i\r\n\r\nin\r\n--i--\r\n--o--\r\n",
    "inner close missing": b"Content-Type: multipart/related; boundary=o\r\n\r\n--o\r\n"
                           b"Content-Type: multipart/mixed; boundary=i\r\n\r\n--i\r\n\r\nin\r\n"
                           b"--o--\r\n",
    "digest": b"Content-Type: multipart/digest; boundary=b\r\n\r\n--b\r\n\r\nSubject: x\r\n"
              b"\r\nbody\r\n--b--\r\n",
    "message part": b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: "
                    b"message/rfc822\r\n\r\nSubject: x\r\n\r\nbody\r\n--b--\r\n",
    "base64 multipart": b"Content-Type: multipart/mixed; boundary=b\r\nContent-Transfer-"
                        b"Encoding: base64\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
    "binary part": b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: "
                   b"image/jpeg\r\nContent-Transfer-Encoding: binary\r\n\r\n\xff\xd8\n\r\x00"
                   b"\r\r\n--b--\r\n",
    "cr line ends": b"Content-Type: multipart/mixed; boundary=b\r\r--b\r\rx\r--b--\r",
    "header without colon": b"Content-Type: multipart/mixed; boundary=b\r\nnot a header\r\n"
                            b"\r\n--b\r\n\r\nx\r\n--b--\r\n",
    "continuation first": b" folded\r\nContent-Type: text/plain\r\n\r\nx",
    "part without headers": b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n"
                            b"x\r\n--b--",
    "non-ascii boundary": "Content-Type: multipart/mixed; boundary*=utf-8''%C3%A9\r\n\r\n--é"
                          "\r\n\r\nx\r\n--é--\r\n".encode(),
    "8-bit transfer encoding": b"Content-Type: multipart/mixed; boundary=b\r\nContent-Transfer-"
                               b"Encoding: \xa4\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
    "folded transfer encoding": b"Content-Type: multipart/mixed; boundary=b\r\nContent-Transfer-"
                                b"Encoding: 8bit\r\n \r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
    "no headers at all": b"just a body",
    "empty": b"",
}


def test_hand_made_shapes() -> None:
    for name, data in CASES.items():
        try:
            same_as_stdlib(data)
        except AssertionError as exc:
            raise AssertionError(name) from exc


def test_the_fast_road_is_taken_where_it_can_be() -> None:
    for name in ("lf bodies under crlf headers", "preamble, epilogue, padding", "empty parts",
                 "delimiter-like lines", "nested", "binary part", "part without headers"):
        assert regular_entity(CASES[name]) is not None, name
    for name in ("lf line ends", "missing close delimiter", "no delimiter at all", "digest",
                 "message part", "base64 multipart", "header without colon", "inner close missing"):
        assert regular_entity(CASES[name]) is None, name


LINE_ENDS = st.sampled_from(["\r\n", "\r\n", "\r\n", "\n", "\r"])
TEXT = st.lists(st.sampled_from([*"ab-= \t\r\n", "--b", "--b--", "\r\n--b"]),
                max_size=20).map("".join)


@st.composite
def entities(draw: st.DrawFn, depth: int = 0) -> str:
    """A MIME entity as text, mostly regular, with the irregularities real peers send."""
    end = draw(LINE_ENDS)
    headers = draw(st.lists(st.sampled_from([
        "Content-ID: <x>", "Content-Transfer-Encoding: base64", "Content-Transfer-Encoding: 8bit",
        "Content-Transfer-Encoding: quoted-printable", "X-A: 1", " folded", "\tfolded", "junk",
        "From someone", "From: a", ":x", "A B: c", "X:", "X:  \t", "Subject: é", "Sübject: x"]),
        max_size=3))
    if depth < 2 and draw(st.booleans()):
        boundary = draw(st.sampled_from(["b", "b", "bb", "b c", "=_x"]))
        kind = draw(st.sampled_from(["mixed", "related", "related", "digest"]))
        headers.insert(0, f'Content-Type: multipart/{kind}; boundary="{boundary}"')
        children = draw(st.lists(entities(depth + 1), max_size=3))
        padding = draw(st.sampled_from(["", "", " ", "\t ", "x"]))
        body = draw(TEXT) + end if draw(st.booleans()) else ""
        for child in children:
            body += f"--{boundary}{padding}{end}{child}{end}"
        if draw(st.booleans()):
            body += f"--{boundary}--{draw(st.sampled_from(['', end, ' ' + end]))}{draw(TEXT)}"
    else:
        headers.insert(0, draw(st.sampled_from(["Content-Type: text/plain", "Content-Type: image/jpeg",
                                                "Content-Type: message/rfc822", ""])))
        body = draw(st.sampled_from(["aGVsbG8=", "hello=20w", "", "a\rb\nc"])) + draw(TEXT)
    return end.join(h for h in headers if h) + end + end + body


@settings(max_examples=1500, deadline=None)
@given(entities())
def test_any_entity_reads_as_the_stdlib_reads_it(text: str) -> None:
    same_as_stdlib(text.encode("utf-8"))


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_any_octets_read_as_the_stdlib_reads_them(data: bytes) -> None:
    same_as_stdlib(b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" + data)


#: What a mutation may insert: line ends, delimiter pieces, padding, 8-bit and header bits.
INSERTS = [b"\r\n", b"\n", b"\r", b"--", b"--b", b"--b--", b"\r\n--b\r\n", b" ", b"\t", b"\xff",
           b"\r\n ", b":", b"\r\n\r\n", b"Content-Type: multipart/digest; boundary=b\r\n",
           b"Content-Transfer-Encoding: 7bit \r\n"]


def mutants(seeds: list[bytes], count: int, rng: random.Random) -> list[bytes]:
    """``count`` seeded mutations: flips, inserts, deletions, repeats, truncations, LF for
    CRLF, the seed's own boundary strings moved about."""
    out = []
    for _ in range(count):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randrange(1, 4)):
            pos = rng.randrange(len(data) + 1)
            action = rng.randrange(6)
            if action == 0 and data:
                data[min(pos, len(data) - 1)] = rng.randrange(256)
            elif action == 1:
                data[pos:pos] = rng.choice(INSERTS)
            elif action == 2:
                del data[pos:pos + rng.randrange(1, 8)]
            elif action == 3:
                data[pos:pos] = data[pos:pos + rng.randrange(1, 40)]
            elif action == 4:
                del data[pos:]
            else:
                end = pos + rng.randrange(1, 200)
                data[pos:end] = bytes(data[pos:end]).replace(b"\r\n", b"\n")
        out.append(bytes(data))
    return out


def test_mutated_messages_read_as_the_stdlib_reads_them() -> None:
    body, content_type = build_submit(namespace=DEFAULT_NAMESPACE, version="6.8.0",
                                      transaction_id="t", vasp_id="v", vas_id=None,
                                      sender="36000", message=sample())
    seeds = [to_mime(sample()), f"Content-Type: {content_type}\r\n\r\n".encode() + body,
             *CASES.values()]
    fast = 0
    for data in mutants(seeds, 4000, random.Random(7)):
        fast += regular_entity(data) is not None
        try:
            same_as_stdlib(data)
        except AssertionError as exc:
            raise AssertionError(repr(data)) from exc
    assert fast > 500  # the campaign reaches the fast road, not only the stdlib's


def multipart(*parts: bytes, close: bool = True) -> bytes:
    """A multipart/mixed of ``parts`` (each headers, empty line, body), closed or not."""
    body = b"".join(b"--b\r\n" + part + b"\r\n" for part in parts)
    return b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + body + \
        (b"--b--\r\n" if close else b"")


def leaf(encoding: str, body: bytes, media: str = "image/gif") -> bytes:
    return (f"Content-Type: {media}\r\nContent-ID: pic\r\nContent-Transfer-Encoding: "
            f"{encoding}\r\n\r\n").encode() + body


GIF64 = b"R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=="
INNER = b"Content-Type: multipart/related; boundary=in\r\n\r\n--in\r\n" + \
    leaf("base64", GIF64) + b"\r\n"


@pytest.mark.parametrize("name, data, damaged", [
    ("whole", multipart(leaf("base64", GIF64), leaf("quoted-printable", b"caf=C3=A9 =\r\nx",
                                                    "text/plain")), None),
    ("outer close missing", multipart(leaf("base64", GIF64), close=False),
     "multipart/mixed without its close delimiter"),
    ("outer close cut", multipart(leaf("base64", GIF64))[:-4], "without its close delimiter"),
    ("inner close missing", multipart(INNER), "multipart/related without its close delimiter"),
    ("inner closed", multipart(INNER + b"--in--"), None),
    ("nested without delimiters", multipart(b"Content-Type: multipart/related; boundary=in"
                                            b"\r\n\r\njust text"), "without any delimiter"),
    ("base64 with foreign characters", multipart(leaf("base64", GIF64[:20] + b"!*" + GIF64[20:])),
     "part image/gif pic: base64 with characters outside its alphabet"),
    ("base64 padding inside", multipart(leaf("base64", b"QQ==QUFB")), "outside its alphabet"),
    ("base64 lone last character", multipart(leaf("base64", GIF64[:-3])),
     "base64 cut short"),
    ("base64 without its padding", multipart(leaf("base64", GIF64.rstrip(b"="))), None),
    ("base64 in short lines with spaces", multipart(leaf("Base64", b"\r\n".join(
        GIF64[i:i + 10] + b" \t" for i in range(0, len(GIF64), 10)))), None),
    ("quoted-printable broken escape", multipart(leaf("quoted-printable", b"caf=C3=Z9",
                                                      "text/plain")),
     "quoted-printable with a broken escape"),
    ("quoted-printable cut in an escape", multipart(leaf("quoted-printable", b"caf=C3=A",
                                                         "text/plain")), "broken escape"),
    ("quoted-printable lower case, padding, final soft break", multipart(leaf(
        "quoted-printable", b"caf=c3=a9 =  \r\nnext=", "text/plain")), None),
    ("8-bit octets in base64", multipart(leaf("base64", GIF64[:20] + b"\x80" + GIF64[20:])),
     "outside its alphabet"),
    ("8-bit octets in quoted-printable", multipart(leaf("quoted-printable", b"caf\xc3\xa9",
                                                        "text/plain; charset=utf-8")), None),
    ("raw binary", multipart(leaf("binary", bytes(range(256)))), None),
    ("unknown encoding left alone", multipart(leaf("x-gzip64", b"!!!")), None),
])
def test_damage(name: str, data: bytes, damaged: str | None) -> None:
    found = damage(parse_entity(data))
    assert (found is None) if damaged is None else (found is not None and damaged in found), \
        (name, found)


def test_base64_without_padding_decodes_to_the_same_octets() -> None:
    padded, bare = (parse_entity(multipart(leaf("base64", text))) for text in (
        GIF64, GIF64.rstrip(b"=")))
    assert padded.get_payload()[0].get_payload(decode=True) == \
        bare.get_payload()[0].get_payload(decode=True)
