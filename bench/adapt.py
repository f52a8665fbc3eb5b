"""Benchmark: adaptation against bare Pillow and bare ffmpeg doing the same conversion, same run.

Images: a 4000x3000 photo (JPEG) adapted for a 640x480 device with a 300 KB budget, and for
a 176x144 one with 30 KB: ``adaptation.image.adapt_image`` against the bare Pillow steps
(open, thumbnail with its draft-mode decoding, EXIF transpose, save as JPEG at the quality
adapt_image settled on). Printed: images per second.

Video and audio: a 20 s 1920x1080 H.264 + AAC MP4 adapted to MP4 for 1 MB and 300 KB, to
3GP (H.263 + AMR-NB) for 100 KB, and an 8 s WAV to AMR-NB for 30 KB:
``adaptation.media.adapt_media`` (probe, choice, encode, check, and any further attempt)
against one bare ffmpeg run of the command line adapt_media settled on. Printed: seconds of
media per wall second. Target for both: within 10 % of bare (ratio >= 0.9).

    .venv/bin/python bench/adapt.py [image-rounds [media-rounds]]
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image, ImageOps  # noqa: E402

from adaptation.image import ImageLimits, adapt_image  # noqa: E402
from adaptation.media import MediaLimits, adapt_media  # noqa: E402
from tests.helpers.media import photo, video_1080p, wav  # noqa: E402


def bare(data: bytes, size: tuple[int, int], quality: int) -> bytes:
    """The same conversion written directly: thumbnail (which decodes the JPEG in draft
    mode at a reduced scale), then the EXIF rotation, then JPEG."""
    image = Image.open(io.BytesIO(data))
    image.thumbnail(size, Image.Resampling.LANCZOS)
    image = ImageOps.exif_transpose(image)
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def per_second(ours: Callable[[], object], bare: Callable[[], object],
               rounds: int) -> tuple[float, float]:
    """Rounds per second of each, run in turns (ours, bare, ours, ...) after one warm-up
    each, so that a change in the machine's load falls on both alike."""
    ours()
    bare()
    spent = [0.0, 0.0]
    for _ in range(rounds):
        for i, step in enumerate((ours, bare)):
            start = time.perf_counter()
            step()
            spent[i] += time.perf_counter() - start
    return rounds / spent[0], rounds / spent[1]


def images(rounds: int) -> None:
    data = photo()
    print(f"images: a {len(data)} octet 4000x3000 JPEG, {rounds} rounds")
    print(f"{'device':22} {'adapt/s':>8} {'bare/s':>8} {'ratio':>6}  result")
    for label, limits in (("640x480, 300 KB", ImageLimits(640, 480, max_bytes=300_000)),
                          ("176x144, 30 KB", ImageLimits(176, 144, max_bytes=30_000))):
        result = adapt_image(data, limits)
        quality = next((int(n.split()[2]) for n in result.notes if n.startswith("JPEG quality")),
                       85)
        ours, theirs = per_second(
            lambda: adapt_image(data, limits),
            lambda: bare(data, (limits.max_width, limits.max_height), quality), rounds)
        print(f"{label:22} {ours:8.2f} {theirs:8.2f} {ours / theirs:6.2f}  "
              f"{result.width}x{result.height} {len(result.data)} octets q{quality}")


def media(rounds: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="mmsc-bench-"))
    clip, tone = video_1080p(folder), wav(8.0)
    print(f"\nvideo and audio: a {len(clip)} octet 20 s 1080p MP4, an 8 s WAV; {rounds} rounds")
    print(f"{'conversion':30} {'adapt s/s':>9} {'bare s/s':>9} {'ratio':>6}  result")
    cases = (("1080p MP4 -> MP4, 1 MB", clip, "video/mp4", 20.0,
              MediaLimits(frozenset({"video/mp4"}), 1_000_000, (1280, 960))),
             ("1080p MP4 -> MP4, 300 KB", clip, "video/mp4", 20.0,
              MediaLimits(frozenset({"video/mp4"}), 300_000, (640, 480))),
             ("1080p MP4 -> 3GP, 100 KB", clip, "video/mp4", 20.0,
              MediaLimits(frozenset({"video/3gpp"}), 100_000, (176, 144))),
             ("WAV -> AMR-NB, 30 KB", tone, "audio/wav", 8.0,
              MediaLimits(frozenset({"audio/amr"}), 30_000)))
    for label, data, declared, seconds, limits in cases:
        result = adapt_media(data, declared, limits)
        work = folder / "bare"
        work.mkdir(exist_ok=True)
        (work / "source").write_bytes(data)
        command = [a.replace("{work}", str(work)) for a in result.command]

        def run_bare() -> None:
            subprocess.run(command, check=True, capture_output=True, timeout=300)

        ours, theirs = (rate * seconds for rate in per_second(
            lambda: adapt_media(data, declared, limits), run_bare, rounds))
        attempts = "; ".join(n for n in result.notes if n.startswith(("video", "audio", "trim")))
        print(f"{label:30} {ours:9.2f} {theirs:9.2f} {ours / theirs:6.2f}  "
              f"{len(result.data)} octets: {attempts}")


def main(image_rounds: int, media_rounds: int) -> None:
    print(f"Python {sys.version.split()[0]}")
    images(image_rounds)
    media(media_rounds)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10,
         int(sys.argv[2]) if len(sys.argv) > 2 else 3)
