"""WBMP type 0 (WAP-237-WAEMT §6): the 1-bit image format of the oldest WAP phones.

Type field 0 and a fixed-header octet 0, width and height as uintvar, then the rows
top to bottom, each padded to whole octets, most significant bit first, 1 = white.
Pillow has no WBMP codec, so this module is both directions.
"""

from __future__ import annotations

from PIL import Image

from wap_push.wsp import Reader, WspDecodeError, encode_uintvar

MEDIA_TYPE = "image/vnd.wap.wbmp"


class WbmpError(ValueError):
    """Not a type 0 WBMP."""


def encode(image: Image.Image) -> bytes:
    """The image as WBMP: converted to 1 bit (Floyd-Steinberg dithering), 1 = white."""
    mono = image.convert("1")
    width, height = mono.size
    # Pillow's "1" raw rows are MSB first, padded to octets, 1 = white: WBMP's layout.
    return b"\x00\x00" + encode_uintvar(width) + encode_uintvar(height) + mono.tobytes("raw", "1")


def decode(data: bytes) -> Image.Image:
    """A WBMP as a Pillow "1" image."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise WbmpError("not a type 0 WBMP")
    reader = Reader(data[2:])
    try:  # WBMP sizes are multi-byte integers in the WSP uintvar form (WAP-237 §6.3)
        width, height = reader.uintvar(), reader.uintvar()
    except WspDecodeError as exc:
        raise WbmpError(f"bad size: {exc}") from None
    pos = 2 + reader.pos
    if not 0 < width <= 4096 or not 0 < height <= 4096:
        raise WbmpError(f"implausible size {width}x{height}")
    row = (width + 7) // 8
    if len(data) - pos < row * height:
        raise WbmpError("truncated image data")
    return Image.frombytes("1", (width, height), data[pos:pos + row * height], "raw", "1")
