"""Benchmark: image adaptation against bare Pillow doing the same conversion, same run.

A 4000x3000 photo (JPEG) adapted for a 640x480 device with a 300 KB budget, and for a
176x144 one with 30 KB: ``adaptation.image.adapt_image`` against the bare Pillow steps
(open, thumbnail with its draft-mode decoding, EXIF transpose, save as JPEG at the quality
adapt_image settled on).
Target: within 10 % of bare. Audio and video come with adaptation/media.py.

    .venv/bin/python bench/adapt.py [rounds]
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image, ImageOps  # noqa: E402

from adaptation.image import ImageLimits, adapt_image  # noqa: E402


def photo() -> bytes:
    image = Image.effect_mandelbrot((4000, 3000), (-2.0, -1.2, 1.0, 1.2), 60).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def bare(data: bytes, size: tuple[int, int], quality: int) -> bytes:
    """The same conversion written directly: thumbnail (which decodes the JPEG in draft
    mode at a reduced scale), then the EXIF rotation, then JPEG."""
    image = Image.open(io.BytesIO(data))
    image.thumbnail(size, Image.Resampling.LANCZOS)
    image = ImageOps.exif_transpose(image)
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def per_second(step, rounds: int) -> float:  # type: ignore[no-untyped-def]
    step()
    start = time.perf_counter()
    for _ in range(rounds):
        step()
    return rounds / (time.perf_counter() - start)


def main(rounds: int) -> None:
    data = photo()
    print(f"Python {sys.version.split()[0]}; a {len(data)} octet 4000x3000 JPEG, {rounds} rounds")
    print(f"{'device':22} {'adapt/s':>8} {'bare/s':>8} {'ratio':>6}  result")
    for label, limits in (("640x480, 300 KB", ImageLimits(640, 480, max_bytes=300_000)),
                          ("176x144, 30 KB", ImageLimits(176, 144, max_bytes=30_000))):
        result = adapt_image(data, limits)
        quality = next((int(n.split()[2]) for n in result.notes if n.startswith("JPEG quality")),
                       85)
        ours = per_second(lambda: adapt_image(data, limits), rounds)
        theirs = per_second(lambda: bare(data, (limits.max_width, limits.max_height), quality),
                            rounds)
        print(f"{label:22} {ours:8.2f} {theirs:8.2f} {ours / theirs:6.2f}  "
              f"{result.width}x{result.height} {len(result.data)} octets q{quality}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
