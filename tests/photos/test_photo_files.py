"""Refusal of unusable files: wrong type, damaged, empty, oversized, bombs."""

from __future__ import annotations

import random
import tracemalloc

import pytest

from server.photos import REJECTION_CODES, PhotoRejected, PhotoSpec, process_photo
from tests.photos import images

SPEC = PhotoSpec()


def rejected(data: bytes, spec: PhotoSpec = SPEC) -> PhotoRejected:
    """The PhotoRejected raised for `data` (fails the test if it is not raised)."""
    with pytest.raises(PhotoRejected) as info:
        process_photo(data, spec)
    err = info.value
    assert err.code in REJECTION_CODES
    assert err.message and err.message.endswith("。")
    assert err.to_dict() == {"error": err.code, "message": err.message}
    assert err.as_check()["result"] == "fail"
    assert 400 <= err.http_status < 500
    return err


def test_zero_bytes() -> None:
    assert rejected(b"").code == "empty_file"


@pytest.mark.parametrize(
    "builder, name",
    [
        (images.gif_bytes, "GIF"),
        (images.svg_bytes, "SVG"),
        (images.pdf_bytes, "PDF"),
        (images.exe_bytes, "可执行程序"),
        (images.webp_bytes, "WebP"),
    ],
    ids=["gif", "svg", "pdf", "exe", "webp"],
)
def test_other_types_are_refused_by_content(builder, name: str) -> None:
    err = rejected(builder())
    assert err.code == "unsupported_file_type"
    assert name in err.message and "JPG" in err.message


def test_svg_with_leading_whitespace_and_random_text() -> None:
    assert rejected(b"  \n" + images.svg_bytes()).code == "unsupported_file_type"
    assert rejected(b"hello, not an image at all").code == "unsupported_file_type"


def test_jpeg_named_file_with_png_content_is_still_handled_by_content() -> None:
    # Type comes from the bytes, never from a name or declared MIME type.
    result = process_photo(images.to_png(images.portrait()), SPEC)
    assert result.ok
    assert result.checks[0] == {"check": "file_type", "result": "fixed", "message": "已将 PNG 转换为 JPG。"}


def test_truncated_jpeg() -> None:
    err = rejected(images.truncated_jpeg())
    assert err.code == "corrupt_image"
    assert err.check == "file_type"


@pytest.mark.parametrize("cut", [3, 20, 200])
def test_jpeg_cut_inside_the_header(cut: int) -> None:
    assert rejected(images.id_photo_jpeg()[:cut]).code == "corrupt_image"


def test_png_with_garbage_body() -> None:
    data = images.to_png(images.portrait(size=(400, 560)))
    broken = data[:60] + bytes(len(data) - 60)
    assert rejected(broken).code == "corrupt_image"


def test_heic_container_with_garbage_body() -> None:
    data = images.heic_bytes()
    assert rejected(data[:40] + b"\x00" * 200).code == "corrupt_image"


def test_png_decompression_bomb_is_refused_before_decoding() -> None:
    data = images.png_bomb(20000, 20000)
    assert len(data) < 1_000_000  # small file, 400 megapixels
    tracemalloc.start()
    try:
        err = rejected(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert err.code == "image_too_large"
    assert err.check == "dimensions"
    assert "20000×20000" in err.message
    assert peak < 20_000_000  # refused from the header: nothing near 400 MP was allocated


def test_bomb_below_pillow_limit_is_refused_by_spec_limit() -> None:
    # 9000x9000 = 81 MP: under Pillow's own bomb threshold, over the 50 MP spec limit.
    assert rejected(images.png_bomb(9000, 9000)).code == "image_too_large"


def test_spec_limit_is_used() -> None:
    spec = PhotoSpec(max_source_pixels=1_000_000)
    assert rejected(images.id_photo_jpeg(), spec).code == "image_too_large"


def test_jpeg_header_claiming_huge_size() -> None:
    assert rejected(images.jpeg_with_fake_size()).code == "image_too_large"


def test_absurd_aspect_ratio() -> None:
    assert rejected(images.png_bomb(20000, 100)).code == "image_too_large"


def test_file_over_byte_limit() -> None:
    spec = PhotoSpec(max_bytes=100_000)
    err = rejected(images.id_photo_jpeg(), spec)
    assert err.code == "file_too_large"
    assert err.http_status == 413


def test_every_code_has_a_check_and_status() -> None:
    for check, status in REJECTION_CODES.values():
        assert check in ("file_type", "file_size", "dimensions")
        assert 400 <= status < 500
    with pytest.raises(ValueError):
        PhotoRejected("made_up", "x")


def _mutations(data: bytes, count: int, seed: int) -> list[bytes]:
    """Randomly damaged copies: byte flips, truncation, insertion, zeroed runs."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        d = bytearray(data)
        op = rng.choice(["flip", "trunc", "insert", "zero"])
        if op == "flip":
            for _ in range(rng.randint(1, 20)):
                d[rng.randrange(len(d))] = rng.randrange(256)
        elif op == "trunc":
            d = d[: rng.randrange(len(d))]
        elif op == "insert":
            pos = rng.randrange(len(d))
            d[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 50)))
        else:
            pos, n = rng.randrange(len(d)), rng.randint(1, 2000)
            d[pos : pos + n] = bytes(min(n, len(d) - pos))
        out.append(bytes(d))
    return out


@pytest.mark.parametrize("fmt", ["jpeg", "png", "heic"])
def test_damaged_files_never_raise_anything_else(fmt: str) -> None:
    small = images.portrait(size=(400, 560))
    if fmt == "jpeg":
        data = images.to_jpeg(small, gps=True, icc=True)
    elif fmt == "png":
        data = images.to_png(small)
    else:
        import io

        import pillow_heif

        buf = io.BytesIO()
        pillow_heif.from_pillow(small).save(buf, quality=60)
        data = buf.getvalue()
    outcomes = set()
    for damaged in _mutations(data, 25, seed=7):
        try:
            result = process_photo(damaged, SPEC)
        except PhotoRejected as err:
            outcomes.add(err.code)
        else:
            assert isinstance(result.ok, bool)
            outcomes.add("ok" if result.ok else "fail")
    assert outcomes  # every damaged file produced a refusal or a result
