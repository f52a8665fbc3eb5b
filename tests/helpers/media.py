"""Real media for the adaptation tests and benchmark, made with ffmpeg's lavfi sources and
Pillow: nothing is checked in, everything is generated on loopback-free local tools."""

from __future__ import annotations

import functools
import io
import subprocess
import tempfile
import wave
from pathlib import Path

from PIL import Image, ImageDraw

from adaptation.ffmpeg import bundled_ffmpeg


def ffmpeg(*args: str) -> None:
    subprocess.run([bundled_ffmpeg(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                    *args], check=True, timeout=120)


def video_1080p(folder: Path, seconds: int = 20) -> bytes:
    """A 1920x1080 H.264 + AAC MP4 at 24 fps, a moving test pattern and a tone, about 4 MB."""
    out = folder / "source-1080p.mp4"
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=24:duration={seconds}",
           "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
           "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "1500k", "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-b:a", "128k", "-ac", "2", "-shortest", str(out))
    return out.read_bytes()


@functools.lru_cache(maxsize=4)
def amr(seconds: float = 1.0) -> bytes:
    """An AMR-NB voice clip (12.2 kbit/s, 8 kHz mono): a tone, as old phones record."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "voice.amr"
        ffmpeg("-f", "lavfi", "-i", f"sine=frequency=350:duration={seconds}", "-ar", "8000",
               "-ac", "1", "-c:a", "libopencore_amrnb", "-b:a", "12.2k", str(out))
        return out.read_bytes()


def wav(seconds: float = 8.0, rate: int = 44100) -> bytes:
    """A mono 16-bit PCM WAV: a tone sweeping up, written with the stdlib."""
    import math

    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = bytearray()
        for i in range(int(seconds * rate)):
            t = i / rate
            value = int(12000 * math.sin(2 * math.pi * (300 + 40 * t) * t))
            frames += value.to_bytes(2, "little", signed=True)
        w.writeframes(bytes(frames))
    return out.getvalue()


def photo(size: tuple[int, int] = (4000, 3000), exif_orientation: int | None = None) -> bytes:
    """A camera-like JPEG with EXIF (orientation, camera make) to be stripped."""
    image = Image.effect_mandelbrot(size, (-2.0, -1.2, 1.0, 1.2), 60).convert("RGB")
    ImageDraw.Draw(image).rectangle((0, 0, size[0] // 4, size[1] // 2), fill=(200, 30, 30))
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = exif_orientation or 1
    exif[0x010F] = "mmsc-test-camera"
    image.save(out, "JPEG", quality=92, exif=exif.tobytes())
    return out.getvalue()


def png_with_alpha() -> bytes:
    image = Image.new("RGBA", (800, 800), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((100, 100, 700, 700), fill=(20, 160, 90, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def animated_gif(frames: int = 6) -> bytes:
    images = [Image.new("RGB", (300, 200), (40 * i, 100, 255 - 40 * i)) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=True, append_images=images[1:], duration=120, loop=0)
    return out.getvalue()
