"""Fuzzing the decoders: random, truncated and mutated PDUs.

The contract: whatever the octets, ``mmsc.pdu.decode`` returns a PDU or raises PduDecodeError
(``decode_push``: WspDecodeError), and nothing else escapes. A PDU that decodes re-encodes
(or raises PduEncodeError) and decodes again to the same value. The cases come from a seeded
generator, so a failure reproduces; the count is well over 20,000.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Callable, Iterator

import pytest

from mmsc.pdu import PduDecodeError, PduEncodeError, decode, encode
from wap_push.push import decode_push
from wap_push.wsp import WspDecodeError

VECTORS = Path(__file__).resolve().parent.parent / "fixtures" / "vectors"
SEEDS = [p.read_bytes() for p in sorted(VECTORS.glob("*m-*.bin"))]
PUSH_SEEDS = [p.read_bytes() for p in sorted(VECTORS.glob("*wap-push*.bin"))]
SPECIAL = (0x00, 0x01, 0x1E, 0x1F, 0x20, 0x22, 0x7F, 0x80, 0x81, 0x8C, 0xFF)


def random_octets(rng: random.Random, count: int) -> Iterator[bytes]:
    for i in range(count):
        body = rng.randbytes(rng.randrange(0, 200))
        yield bytes((0x8C, rng.randrange(0x80, 0x98))) + body if i % 2 else body


def truncations(rng: random.Random, seeds: list[bytes], per_seed: int) -> Iterator[bytes]:
    for seed in seeds:
        cuts = range(len(seed)) if len(seed) <= per_seed else \
            sorted(rng.sample(range(len(seed)), per_seed))
        for cut in cuts:
            yield seed[:cut]


def mutations(rng: random.Random, seeds: list[bytes], count: int) -> Iterator[bytes]:
    for _ in range(count):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randrange(1, 4)):
            head = min(len(data), 400)  # the headers and part tables live at the start
            pos = rng.randrange(head) if head else 0
            action = rng.randrange(5)
            if action == 0 and data:
                data[pos] = rng.randrange(256)
            elif action == 1 and data:
                data[pos] = rng.choice(SPECIAL)
            elif action == 2:
                data[pos:pos] = rng.randbytes(rng.randrange(1, 4))
            elif action == 3 and data:
                del data[pos:pos + rng.randrange(1, 4)]
            else:
                end = min(len(data), pos + rng.randrange(1, 12))
                data[pos:pos] = data[pos:end]
        yield bytes(data)


def check_pdu(data: bytes) -> None:
    try:
        pdu = decode(data)
    except PduDecodeError:
        return
    try:
        again = encode(pdu)
    except PduEncodeError:
        return
    assert decode(again) == pdu, data.hex()


def check_push(data: bytes) -> None:
    try:
        decode_push(data)
    except WspDecodeError:
        pass


def run(cases: Iterator[bytes], check: Callable[[bytes], None]) -> int:
    count = 0
    for data in cases:
        try:
            check(data)
        except AssertionError:
            raise
        except Exception as exc:  # the contract under test: nothing else may escape
            pytest.fail(f"{type(exc).__name__}: {exc} for input {data.hex()}")
        count += 1
    return count


def test_random_octets() -> None:
    assert run(random_octets(random.Random(1), 6000), check_pdu) == 6000


def test_truncated_vectors() -> None:
    assert run(truncations(random.Random(2), SEEDS, 120), check_pdu) > 5000


def test_mutated_vectors() -> None:
    assert run(mutations(random.Random(3), SEEDS, 12000), check_pdu) == 12000


def test_push_decoder() -> None:
    rng = random.Random(4)
    cases = [*truncations(rng, PUSH_SEEDS, 200), *mutations(rng, PUSH_SEEDS, 3000),
             *random_octets(rng, 1000)]
    assert run(iter(cases), check_push) == len(cases)
