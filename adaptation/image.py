"""Image adaptation with Pillow: what a device can show, within its size budget.

Steps, in order: refuse decompression bombs before decoding; honour the EXIF orientation;
scale to fit the device's resolution (never up); choose a format the device accepts (the
original's when it can, else JPEG, PNG, GIF, WBMP in that order; transparency flattened on
white for formats without it); keep an animated GIF animated when GIF is accepted, else take
its first frame; strip metadata (EXIF, ICC, comments: location data must not leak); then
search JPEG quality, and downscale, until the budget is met. Blocking work: callers run it
in a worker thread or process.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field

from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from . import wbmp

#: Pillow format name <-> media type.
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif",
           "WBMP": wbmp.MEDIA_TYPE, "BMP": "image/bmp", "WEBP": "image/webp"}
MEDIA_TYPES = {media: name for name, media in FORMATS.items()}
#: Output formats in order of preference when the original's is not accepted.
PREFERENCE = ("JPEG", "PNG", "GIF", "WBMP")
#: Images above this many pixels are refused before decoding (a 50 MP photo is plenty).
MAX_PIXELS = 50_000_000
_QUALITIES = (85, 75, 65, 55, 45, 35, 25)
_ORIENTATION = 0x0112  # EXIF tag
_SMALLEST = 16


class ImageAdaptationError(ValueError):
    """The image cannot be adapted (corrupt, a bomb, or too big for any budget)."""


@dataclass(frozen=True)
class ImageLimits:
    """What the device takes: resolution, media types, and the octets this image may use."""

    max_width: int
    max_height: int
    accepted: frozenset[str] = frozenset({"image/jpeg", "image/gif", "image/png"})
    max_bytes: int | None = None


@dataclass(frozen=True)
class AdaptedImage:
    data: bytes
    media_type: str
    width: int
    height: int
    frames: int = 1
    changed: bool = True
    notes: tuple[str, ...] = field(default_factory=tuple)


def _open(data: bytes, max_pixels: int,
          limits: ImageLimits) -> tuple[Image.Image, tuple[int, int]]:
    """Decode, refusing bombs first; the image and the size the file has. A JPEG is decoded
    straight at the smallest DCT scale that still covers the device's resolution (Pillow's
    draft mode), as bare Pillow's thumbnail does: a 12 MP photo for a 640x480 screen is
    never decoded in full, so the image decoded can be smaller than the file's."""
    failure = "unknown format"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > max_pixels:
                raise ImageAdaptationError(f"{width}x{height} is over {max_pixels} pixels: "
                                           "refused as a decompression bomb")
            if image.format == "JPEG":
                turned = image.getexif().get(_ORIENTATION, 1) in (5, 6, 7, 8)
                box = (limits.max_height, limits.max_width) if turned else \
                    (limits.max_width, limits.max_height)
                image.draft("RGB", _fit((width, height), ImageLimits(*box)))
            image.load()
            return image, (width, height)
    except ImageAdaptationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageAdaptationError(f"refused as a decompression bomb: {exc}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        failure = type(exc).__name__
    try:
        image = wbmp.decode(data)
        return image, image.size
    except wbmp.WbmpError:
        raise ImageAdaptationError(f"not a readable image ({failure})") from None


def _fit(size: tuple[int, int], limits: ImageLimits) -> tuple[int, int]:
    width, height = size
    scale = min(1.0, limits.max_width / width, limits.max_height / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and
                                                  "transparency" in image.info)


def _flatten(image: Image.Image) -> Image.Image:
    """RGB on white: for formats that have no transparency."""
    if not _has_alpha(image):
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _encode(frames: list[Image.Image], fmt: str, quality: int, durations: list[int],
            loop: int) -> bytes:
    out = io.BytesIO()
    first = frames[0]
    if fmt == "WBMP":
        return wbmp.encode(_flatten(first))
    if fmt == "JPEG":
        _flatten(first).save(out, "JPEG", quality=quality, optimize=True, progressive=False)
    elif fmt == "PNG":
        image = first if first.mode in ("RGB", "RGBA", "L", "LA", "P") else first.convert("RGBA")
        image.save(out, "PNG", optimize=True)
    elif fmt == "GIF":
        paletted = [f.convert("RGBA").quantize(255) if _has_alpha(f) else
                    f.convert("RGB").quantize(256) for f in frames]
        if len(paletted) > 1:
            paletted[0].save(out, "GIF", save_all=True, append_images=paletted[1:],
                             duration=durations, loop=loop, optimize=True, disposal=2)
        else:
            paletted[0].save(out, "GIF", optimize=True)
    else:
        raise ImageAdaptationError(f"cannot write {fmt}")
    return out.getvalue()


def _target_format(original: str | None, limits: ImageLimits, alpha: bool) -> str:
    accepted = [MEDIA_TYPES[m] for m in limits.accepted if m in MEDIA_TYPES]
    if original in accepted and original in PREFERENCE:
        return original
    order = ("PNG", "GIF", "JPEG", "WBMP") if alpha else PREFERENCE
    for fmt in order:
        if fmt in accepted:
            return fmt
    raise ImageAdaptationError(f"the device accepts no image format mmsc writes "
                               f"({', '.join(sorted(limits.accepted))})")


def adapt_image(data: bytes, limits: ImageLimits, *,
                max_pixels: int = MAX_PIXELS) -> AdaptedImage:
    """The image as ``limits`` allow, with notes saying what changed. A file that breaks
    while its frames are read (Pillow decodes lazily) is an ImageAdaptationError too."""
    try:
        return _adapt(data, limits, max_pixels)
    except ImageAdaptationError:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, IndexError) as exc:
        raise ImageAdaptationError(f"the image is damaged: {exc}") from None


def _adapt(data: bytes, limits: ImageLimits, max_pixels: int) -> AdaptedImage:
    image, stored = _open(data, max_pixels, limits)
    original = image.format or ("WBMP" if image.mode == "1" and data[:2] == b"\0\0" else None)
    notes: list[str] = []
    frames = [f.copy() for f in ImageSequence.Iterator(image)] if getattr(
        image, "n_frames", 1) > 1 else [image]
    durations = [f.info.get("duration", 100) for f in frames]
    loop = image.info.get("loop", 0)
    has_metadata = bool(image.info.get("exif") or image.info.get("icc_profile")
                        or image.info.get("comment"))
    if image.getexif().get(_ORIENTATION, 1) != 1:
        notes.append("rotated as its EXIF orientation says")
        frames = [ImageOps.exif_transpose(frames[0])]
    fmt = _target_format(original, limits, _has_alpha(frames[0]))
    if len(frames) > 1 and fmt != "GIF":
        notes.append(f"animation of {len(frames)} frames reduced to its first frame")
        frames = frames[:1]
    size = _fit(frames[0].size, limits)
    fits_screen = size == frames[0].size == stored  # a JPEG decoded at 1/2 is not the file
    if (fits_screen and fmt == original and not notes and not has_metadata
            and (limits.max_bytes is None or len(data) <= limits.max_bytes)):
        return AdaptedImage(data, FORMATS[fmt], size[0], size[1], len(frames), changed=False)
    if fmt != original:
        notes.append(f"converted from {original or 'unknown'} to {fmt}")
    if has_metadata:
        notes.append("metadata removed")
    while True:
        scaled = frames if size == frames[0].size else [
            f.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0) for f in frames]
        for quality in (_QUALITIES if fmt == "JPEG" else (0,)):
            encoded = _encode(scaled, fmt, quality, durations, loop)
            if limits.max_bytes is None or len(encoded) <= limits.max_bytes:
                if size != frames[0].size or not fits_screen:
                    notes.append(f"scaled to {size[0]}x{size[1]}")
                if fmt == "JPEG" and quality != _QUALITIES[0]:
                    notes.append(f"JPEG quality {quality} to fit {limits.max_bytes} octets")
                return AdaptedImage(encoded, FORMATS[fmt], size[0], size[1], len(scaled),
                                    notes=tuple(notes))
        if max(size) <= _SMALLEST:
            raise ImageAdaptationError(f"no {fmt} of this image fits {limits.max_bytes} octets")
        size = (max(1, size[0] * 3 // 4), max(1, size[1] * 3 // 4))
