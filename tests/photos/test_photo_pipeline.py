"""End-to-end tests of process_photo on real (generated) photos."""

from __future__ import annotations

import hashlib
import io
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest
from PIL import Image

from server.photos import CHECK_IDS, PhotoResult, PhotoSpec, process_photo
from tests.photos import images

SPEC = PhotoSpec()


def output_faces(jpeg: bytes) -> list[tuple[int, int, int, int]]:
    """Faces in the output, found independently of the pipeline's own detector settings."""
    grey = np.asarray(Image.open(io.BytesIO(jpeg)).convert("L"))
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    found = cascade.detectMultiScale(grey, 1.05, 4, minSize=(60, 60))
    return [tuple(int(v) for v in f) for f in found]


def by_id(result: PhotoResult) -> dict[str, dict[str, str]]:
    """Checks keyed by their id."""
    return {c["check"]: c for c in result.checks}


def assert_good_output(result: PhotoResult, data: bytes, spec: PhotoSpec = SPEC) -> Image.Image:
    """Everything a provincial upload form checks, plus privacy and framing."""
    assert result.ok, result.checks
    assert result.jpeg is not None
    assert result.sha256_original == hashlib.sha256(data).hexdigest()
    assert (result.width, result.height) == (spec.width_px, spec.height_px)
    assert spec.min_kb * 1024 <= len(result.jpeg) <= spec.max_kb * 1000
    img = Image.open(io.BytesIO(result.jpeg))
    assert img.format == "JPEG" and img.mode == "RGB"
    assert img.size == (spec.width_px, spec.height_px)
    assert img.info.get("dpi") == (spec.dpi, spec.dpi)
    # No EXIF, GPS, ICC, XMP or comment: only the JFIF header (APP0) besides coding segments.
    assert not img.getexif()
    for key in ("exif", "icc_profile", "xmp", "comment", "photoshop"):
        assert key not in img.info, key
    segments = images.jpeg_markers(result.jpeg)
    assert [m for m in segments if 0xE0 <= m <= 0xEF] == [0xE0]
    assert 0xFE not in segments
    for check in result.checks:
        assert check["check"] in CHECK_IDS
        assert check["result"] in ("pass", "fixed")
        assert check["message"]
    # The head is upright (the frontal detector finds it), single and centred in the frame.
    faces = output_faces(result.jpeg)
    assert len(faces) == 1, faces
    x, y, w, h = faces[0]
    assert abs((x + w / 2) - spec.width_px / 2) < spec.width_px * 0.12
    assert 0.12 * spec.height_px < y < 0.45 * spec.height_px
    assert 0.25 * spec.height_px < h < 0.55 * spec.height_px
    return img


def background_rgb(img: Image.Image) -> np.ndarray:
    """Mean colour of the top corners of the output."""
    arr = np.asarray(img.convert("RGB"), dtype=np.float32)
    corners = [arr[4:30, 4:40].reshape(-1, 3), arr[4:30, -40:-4].reshape(-1, 3)]
    return np.concatenate(corners).mean(0)


# --- photos that must come out right ----------------------------------------------------


def test_phone_photo_white_background_is_fixed() -> None:
    data = images.phone_jpeg(images.WHITE)
    assert 3_000_000 <= len(data) <= 5_000_000
    with Image.open(io.BytesIO(data)) as src:  # stored sideways, GPS present
        assert src.size == (4032, 3024)
        assert src.getexif()[0x0112] == 6
        assert src.getexif().get_ifd(0x8825)
    result = process_photo(data, SPEC)
    img = assert_good_output(result, data)
    checks = by_id(result)
    assert checks["orientation"]["result"] == "fixed"
    assert checks["metadata"]["result"] == "fixed"
    assert "位置" in checks["metadata"]["message"]
    assert checks["background"]["result"] == "pass"
    assert checks["size_kb"]["result"] == "fixed"
    assert (result.source_width, result.source_height) == (3024, 4032)
    assert background_rgb(img).min() > 235


def test_phone_photo_blue_background_is_fixed() -> None:
    data = images.phone_jpeg(images.ID_BLUE)
    result = process_photo(data, SPEC)
    img = assert_good_output(result, data)
    assert "蓝色" in by_id(result)["background"]["message"]
    r, g, b = background_rgb(img)
    assert b > 180 and b > r + 80


@pytest.mark.parametrize("orientation", [3, 8])
def test_other_exif_orientations_are_applied(orientation: int) -> None:
    data = images.to_jpeg(images.portrait(), orientation=orientation, gps=True)
    result = process_photo(data, SPEC)
    assert_good_output(result, data)
    assert by_id(result)["orientation"]["result"] == "fixed"


def test_upright_id_photo_passes_orientation() -> None:
    data = images.id_photo_jpeg()
    result = process_photo(data, SPEC)
    assert_good_output(result, data)
    assert by_id(result)["orientation"]["result"] == "pass"
    assert by_id(result)["file_type"]["result"] == "pass"


def test_sideways_photo_without_orientation_tag_is_turned() -> None:
    stored = images.portrait().transpose(Image.Transpose.ROTATE_90)
    data = images.to_jpeg(stored, exif=False)
    result = process_photo(data, SPEC)
    assert_good_output(result, data)
    assert by_id(result)["orientation"]["result"] == "fixed"


def test_small_face_in_12mp_photo_is_decoded_finer(monkeypatch: pytest.MonkeyPatch) -> None:
    from server.photos.decode import Source

    requested: list[tuple[int, int]] = []
    original = Source.decode_rgb

    def spy(self: Source, min_size: tuple[int, int]) -> Image.Image:
        requested.append(min_size)
        return original(self, min_size)

    monkeypatch.setattr(Source, "decode_rgb", spy)
    img = images.portrait(images.WHITE, images.PHONE_SIZE, face_frac=0.1, face_top_frac=0.35)
    data = images.to_jpeg(img, quality=90)
    result = process_photo(data, SPEC)
    assert_good_output(result, data)
    # The 1/4-scale first decode is too coarse for this crop, so a finer one follows.
    assert len(requested) == 2 and requested[1][1] > requested[0][1]


def test_png_without_metadata_passes_metadata_check() -> None:
    data = images.to_png(images.portrait())
    result = process_photo(data, SPEC)
    assert_good_output(result, data)
    assert by_id(result)["metadata"]["result"] == "pass"


def test_checks_come_in_stable_order() -> None:
    result = process_photo(images.id_photo_jpeg(), SPEC)
    assert [c["check"] for c in result.checks] == list(CHECK_IDS)


def test_custom_spec_size_and_window() -> None:
    spec = PhotoSpec(width_px=358, height_px=441, dpi=350, min_kb=14, max_kb=40, backgrounds=("white",))
    data = images.id_photo_jpeg()
    result = process_photo(data, spec)
    assert_good_output(result, data, spec)


def test_heic_upload_is_converted() -> None:
    data = images.heic_bytes(6)
    result = process_photo(data, SPEC)
    assert_good_output(result, data)
    checks = by_id(result)
    assert checks["file_type"]["result"] == "fixed"
    assert checks["orientation"]["result"] == "fixed"
    assert checks["metadata"]["result"] == "fixed"


@pytest.mark.parametrize(
    "builder",
    [
        images.cmyk_jpeg,
        images.png16_gray,
        images.png16_rgb,
        images.rgba_png,
        images.palette_png,
        images.la_png,
    ],
    ids=lambda b: b.__name__,
)
def test_unusual_modes_become_rgb_jpeg(builder) -> None:
    data = builder()
    result = process_photo(data, SPEC)
    img = assert_good_output(result, data)
    assert by_id(result)["file_type"]["result"] == "fixed"
    # The background (white or blue in the source) must not come out black, clipped or inverted.
    assert background_rgb(img).max() > 200


def test_png16_grey_keeps_its_tones() -> None:
    result = process_photo(images.png16_gray(), SPEC)
    grey = np.asarray(Image.open(io.BytesIO(result.jpeg)).convert("L"), dtype=np.float32)
    # Clipping 16-bit values to 8 bits would make almost everything white.
    assert (grey < 128).mean() > 0.15


def test_transparent_png_lands_on_white() -> None:
    result = process_photo(images.rgba_png(), SPEC)
    img = Image.open(io.BytesIO(result.jpeg))
    assert background_rgb(img).min() > 240


def test_cmyk_colours_survive() -> None:
    result = process_photo(images.cmyk_jpeg(), SPEC)
    arr = np.asarray(Image.open(io.BytesIO(result.jpeg)).convert("RGB"), dtype=np.int16)
    # The orange suit at the bottom stays orange (red well above blue).
    bottom = arr[-40:, :, :].reshape(-1, 3)
    assert ((bottom[:, 0] - bottom[:, 2]) > 60).mean() > 0.1


def test_moderately_dark_photo_is_brightened() -> None:
    arr = np.asarray(images.portrait(), dtype=np.float32) * 0.45
    data = images.to_jpeg(Image.fromarray(arr.astype(np.uint8)))
    result = process_photo(data, SPEC)
    checks = by_id(result)
    assert checks["exposure"]["result"] == "fixed", result.checks
    assert result.ok


def test_concurrent_calls_match_sequential() -> None:
    inputs = [
        images.id_photo_jpeg(),
        images.id_photo_jpeg(images.ID_BLUE),
        images.two_faces_jpeg(),
        images.cmyk_jpeg(),
    ] * 2
    sequential = [process_photo(d, SPEC) for d in inputs]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(lambda d: process_photo(d, SPEC), inputs))
    for a, b in zip(sequential, parallel):
        assert a.checks == b.checks
        assert a.jpeg == b.jpeg


def test_result_does_not_keep_the_original() -> None:
    data = images.id_photo_jpeg()
    result = process_photo(data, SPEC)
    assert all(value is not data and value != data for value in vars(result).values())


# --- photos that must fail with their own check -----------------------------------------


def failing(result: PhotoResult) -> dict[str, str]:
    """Failed checks by id, after asserting the common shape of a failure."""
    assert not result.ok
    assert result.jpeg is None and result.width is None and result.height is None
    failed = {c["check"]: c["message"] for c in result.checks if c["result"] == "fail"}
    assert failed and result.failed == list(failed)
    assert result.message == next(iter(failed.values()))
    return failed


def test_landscape_without_face_fails_face_count() -> None:
    failed = failing(process_photo(images.landscape_jpeg(), SPEC))
    assert list(failed) == ["face_count"]
    assert "人脸" in failed["face_count"]


def test_two_people_fail_face_count() -> None:
    failed = failing(process_photo(images.two_faces_jpeg(), SPEC))
    assert list(failed) == ["face_count"]
    assert "2" in failed["face_count"]


def test_dark_photo_fails_exposure() -> None:
    result = process_photo(images.dark_jpeg(), SPEC)
    failed = failing(result)
    assert by_id(result)["face_count"]["result"] == "pass"
    assert "exposure" in failed and "暗" in failed["exposure"]
    assert result.message == failed["exposure"]  # the first, most useful sentence


def test_overexposed_photo_fails_exposure() -> None:
    failed = failing(process_photo(images.overexposed_jpeg(), SPEC))
    assert list(failed) == ["exposure"]


def test_cluttered_background_fails_background() -> None:
    result = process_photo(images.cluttered_jpeg(), SPEC)
    failed = failing(result)
    assert list(failed) == ["background"]
    assert "纯色" in failed["background"]
    assert by_id(result)["face_count"]["result"] == "pass"


def test_red_background_fails_for_white_or_blue_spec() -> None:
    failed = failing(process_photo(images.red_background_jpeg(), SPEC))
    assert list(failed) == ["background"]
    assert "红色" in failed["background"]


def test_red_background_passes_when_spec_allows_red() -> None:
    data = images.red_background_jpeg()
    result = process_photo(data, PhotoSpec(backgrounds=("red",)))
    assert result.ok, result.checks


def test_blue_background_fails_for_white_only_spec() -> None:
    failed = failing(process_photo(images.id_photo_jpeg(images.ID_BLUE), PhotoSpec(backgrounds=("white",))))
    assert list(failed) == ["background"]
    assert "蓝色" in failed["background"]


def test_face_too_close_fails_head_position() -> None:
    failed = failing(process_photo(images.too_close_jpeg(), SPEC))
    assert list(failed) == ["head_position"]


def test_head_cut_at_top_fails_head_position() -> None:
    img = images.portrait(images.WHITE, (1200, 1600), face_frac=0.22, face_top_frac=0.03)
    failed = failing(process_photo(images.to_jpeg(img), SPEC))
    assert list(failed) == ["head_position"]


def test_low_resolution_source_fails_dimensions() -> None:
    failed = failing(process_photo(images.small_source_jpeg(), SPEC))
    assert "dimensions" in failed
    assert "295×413" in failed["dimensions"]
