"""Image adaptation with real images made by Pillow: every result is re-opened and checked."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from adaptation import wbmp
from adaptation.image import ImageAdaptationError, ImageLimits, adapt_image
from helpers.media import animated_gif, photo, png_with_alpha

OLD_PHONE = ImageLimits(176, 144, frozenset({"image/jpeg", "image/gif", wbmp.MEDIA_TYPE}),
                        max_bytes=30_000)
WAP_ONLY = ImageLimits(96, 65, frozenset({wbmp.MEDIA_TYPE}))
ANDROID = ImageLimits(640, 480, frozenset({"image/jpeg", "image/png", "image/gif"}),
                      max_bytes=300_000)


def reopen(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_a_big_photo_for_an_old_phone() -> None:
    result = adapt_image(photo(), OLD_PHONE)
    image = reopen(result.data)
    assert result.media_type == "image/jpeg" and image.format == "JPEG"
    assert image.size == (result.width, result.height) and image.size[0] <= 176
    assert image.size[1] <= 144 and abs(image.size[0] / image.size[1] - 4 / 3) < 0.02
    assert len(result.data) <= 30_000 and result.changed
    assert "exif" not in image.info and any("metadata" in n for n in result.notes)


def test_exif_orientation_is_applied() -> None:
    result = adapt_image(photo((400, 300), exif_orientation=6), ANDROID)
    assert (result.width, result.height) == (300, 400)  # rotated a quarter turn
    assert reopen(result.data).size == (300, 400)


def test_transparent_png_kept_as_png_or_flattened_for_jpeg_only() -> None:
    kept = adapt_image(png_with_alpha(), ANDROID)
    image = reopen(kept.data)
    assert kept.media_type == "image/png" and image.mode in ("RGBA", "P", "LA")
    assert image.size == (480, 480)
    jpeg_only = ImageLimits(320, 240, frozenset({"image/jpeg"}))
    flat = adapt_image(png_with_alpha(), jpeg_only)
    image = reopen(flat.data).convert("RGB")
    assert flat.media_type == "image/jpeg" and image.size == (240, 240)
    assert image.getpixel((2, 2))[0] > 240  # the transparent corner is white, not black


def test_animated_gif_stays_animated_when_gif_is_taken() -> None:
    result = adapt_image(animated_gif(), OLD_PHONE)
    image = reopen(result.data)
    assert result.media_type == "image/gif" and image.n_frames == 6 == result.frames
    assert image.size[0] <= 176 and image.size[1] <= 144
    still = adapt_image(animated_gif(), ImageLimits(176, 144, frozenset({"image/jpeg"})))
    assert still.media_type == "image/jpeg" and still.frames == 1
    assert any("first frame" in n for n in still.notes)


def test_wbmp_for_the_oldest_phones() -> None:
    result = adapt_image(photo((640, 480)), WAP_ONLY)
    assert result.media_type == wbmp.MEDIA_TYPE and result.data[:2] == b"\x00\x00"
    image = wbmp.decode(result.data)
    assert image.size == (result.width, result.height) and image.size[0] <= 96
    again = adapt_image(result.data, WAP_ONLY)  # a WBMP reads back in
    assert again.media_type == wbmp.MEDIA_TYPE and not again.changed


def test_an_image_that_already_fits_is_left_alone() -> None:
    out = io.BytesIO()
    Image.new("RGB", (100, 80), (1, 2, 3)).save(out, "PNG")
    result = adapt_image(out.getvalue(), ANDROID)
    assert not result.changed and result.data == out.getvalue()



@pytest.mark.parametrize("size", [(320, 200), (640, 480), (1280, 960)])
def test_a_jpeg_whose_reduced_decoding_fits_is_still_scaled(size: tuple[int, int]) -> None:
    """A JPEG is decoded at 1/2, 1/4 or 1/8 of its size when that covers the screen: when
    that decoding fits the screen exactly, the file itself (twice to eight times too big)
    must not go out as it came."""
    out = io.BytesIO()
    Image.new("RGB", size, (20, 120, 200)).save(out, "JPEG")
    result = adapt_image(out.getvalue(), ImageLimits(160, 120, frozenset({"image/jpeg"})))
    image = reopen(result.data)
    assert result.changed and image.size[0] <= 160 and image.size[1] <= 120
    assert image.size == (result.width, result.height)
    assert any(note.startswith("scaled to") for note in result.notes)

@pytest.mark.parametrize("data", [b"", b"not an image", photo((64, 48))[:200],
                                  b"GIF89a" + bytes(40), b"\x89PNG\r\n\x1a\n" + bytes(30)])
def test_corrupt_images_fail_cleanly(data: bytes) -> None:
    with pytest.raises(ImageAdaptationError):
        adapt_image(data, ANDROID)


def test_decompression_bombs_are_refused_before_decoding() -> None:
    out = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(out, "PNG")  # 400 MP, a few KB compressed
    assert len(out.getvalue()) < 200_000
    with pytest.raises(ImageAdaptationError, match="bomb"):
        adapt_image(out.getvalue(), ANDROID)


def test_an_impossible_budget_is_an_error() -> None:
    with pytest.raises(ImageAdaptationError, match="fits"):
        adapt_image(png_with_alpha(), ImageLimits(640, 480, frozenset({"image/png"}),
                                                  max_bytes=20))


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow on broken EXIF: read on anyway
def test_mutated_images_adapt_or_fail_cleanly() -> None:
    import random

    rng = random.Random(11)
    samples = [photo((120, 90)), animated_gif(3), png_with_alpha()[:3000] + bytes(10)]
    for _ in range(150):
        data = bytearray(rng.choice(samples))
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            result = adapt_image(bytes(data), OLD_PHONE)
        except ImageAdaptationError:
            continue
        assert result.width <= 176 and result.height <= 144
