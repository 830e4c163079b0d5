"""POST /api/v1/me/photo with real images over real HTTP: fixed photos, failed checks, unusable files."""

from __future__ import annotations

import hashlib
import io

import cv2
import numpy as np
import pytest
from PIL import Image

from server.photos import CHECK_IDS
from tests.photos import images
from tests.photos_api.conftest import PHOTO

MIN_BYTES, MAX_BYTES = 10 * 1024, 20 * 1000  # valid whether a KB is read as 1000 or 1024 bytes


def faces_in(jpeg: bytes) -> list[tuple[int, int, int, int]]:
    """Frontal faces found by OpenCV's stock cascade, independently of the pipeline's settings."""
    grey = np.asarray(Image.open(io.BytesIO(jpeg)).convert("L"))
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    return [tuple(int(v) for v in f) for f in cascade.detectMultiScale(grey, 1.05, 4, minSize=(60, 60))]


def assert_id_photo(jpeg: bytes, width: int = 295, height: int = 413) -> Image.Image:
    """A metadata-free RGB JPEG of the configured size and weight with one face inside the frame."""
    assert jpeg[:3] == b"\xff\xd8\xff"
    assert MIN_BYTES <= len(jpeg) <= MAX_BYTES, len(jpeg)
    img = Image.open(io.BytesIO(jpeg))
    assert img.format == "JPEG" and img.mode == "RGB"
    assert img.size == (width, height)
    assert not img.getexif()
    for key in ("exif", "icc_profile", "xmp", "comment", "photoshop"):
        assert key not in img.info, key
    assert [m for m in images.jpeg_markers(jpeg) if 0xE0 <= m <= 0xEF or m == 0xFE] == [0xE0]  # JFIF only
    faces = faces_in(jpeg)
    assert len(faces) == 1, faces
    x, y, w, h = faces[0]
    assert x > 0 and y > 0 and x + w < width and y + h < height
    assert abs(x + w / 2 - width / 2) < width * 0.12  # centred
    return img


def checks_by_id(checks: list[dict]) -> dict[str, dict]:
    """Checks keyed by id; each has the public shape."""
    for c in checks:
        assert set(c) == {"check", "result", "message"}
        assert c["result"] in ("pass", "fixed", "fail")
        assert c["message"]
    return {c["check"]: c for c in checks}


PORTRAITS = {
    "white": lambda: images.id_photo_jpeg(images.WHITE),
    "blue": lambda: images.id_photo_jpeg(images.ID_BLUE),
    "exif_rotated_12mp_white": lambda: images.phone_jpeg(images.WHITE),
    "exif_rotated_12mp_blue": lambda: images.phone_jpeg(images.ID_BLUE),
}


@pytest.mark.parametrize("name", list(PORTRAITS))
async def test_a_real_portrait_is_fixed_and_stored(as_user, upload_photo, stored_files, record_of, name):
    data = PORTRAITS[name]()
    c = await as_user("zhang")
    r = await upload_photo(c, data)
    assert r.status == 201, r.text
    body = r.json
    assert (body["width"], body["height"], body["content_type"]) == (295, 413, "image/jpeg")
    assert body["url"] == PHOTO
    assert body["sha256_original"] == hashlib.sha256(data).hexdigest()
    checks = checks_by_id(body["checks"])
    assert list(checks) == [c for c in CHECK_IDS if c in checks]  # pipeline order
    assert {"file_type", "dimensions", "orientation", "face_count", "head_position", "size_kb", "metadata"} <= set(
        checks
    )
    assert all(ch["result"] != "fail" for ch in checks.values())
    if "12mp" in name:
        assert checks["orientation"]["result"] == "fixed"
        assert checks["metadata"]["result"] == "fixed" and "位置" in checks["metadata"]["message"]  # GPS removed

    got = await c.get(PHOTO)
    assert got.status == 200
    assert got.headers["Content-Type"] == "image/jpeg"
    assert hashlib.sha256(got.body).hexdigest() == body["sha256"]
    assert len(got.body) == body["size"]
    img = assert_id_photo(got.body)
    corner = np.asarray(img)[:20, :20].reshape(-1, 3).mean(axis=0)
    if "blue" in name:
        assert corner[2] > corner[0] + 60  # still a blue background
    else:
        assert corner.min() > 200  # still white

    # The original is not kept: only the processed JPEG is in GridFS, with its hash.
    files = await stored_files()
    assert len(files) == 1
    assert files[0]["metadata"]["sha256"] == body["sha256"] != body["sha256_original"]
    assert files[0]["length"] == len(got.body) < len(data)
    doc = await record_of(c.openid)
    assert doc["photo"]["file_id"] == files[0]["_id"]
    assert doc["photo"]["sha256_original"] == hashlib.sha256(data).hexdigest()
    assert doc["photo"]["checks"] == body["checks"]

    # It counts towards completeness.
    record = (await c.get("/api/v1/me/record")).json
    assert record["photo"]["size"] == body["size"]
    assert "photo" not in {m["field"] for m in record["missing"]}


@pytest.mark.parametrize(
    "builder, failed_check, words",
    [
        (images.landscape_jpeg, "face_count", "没有检测到人脸"),
        (images.two_faces_jpeg, "face_count", "2 张人脸"),
        (images.dark_jpeg, "exposure", "太暗"),
        (images.cluttered_jpeg, "background", "背景"),
    ],
    ids=["landscape_no_face", "two_faces", "dark", "cluttered_background"],
)
async def test_a_failed_check_is_a_422_listing_the_checks_and_nothing_is_stored(
    as_user, upload_photo, stored_files, record_of, builder, failed_check, words
):
    c = await as_user("li")
    r = await upload_photo(c, builder())
    assert r.status == 422, r.text
    error = r.json["error"]
    assert error["code"] == "photo_check_failed"
    checks = checks_by_id(error["checks"])
    failed = [k for k, v in checks.items() if v["result"] == "fail"]
    assert failed[0] == failed_check
    assert words in checks[failed_check]["message"]
    assert error["message"] == checks[failed_check]["message"]  # the first failing sentence
    assert error["fields"][0] == {"field": "photo", "code": failed_check, "message": error["message"]}
    assert checks["file_type"]["result"] == "pass"
    assert "size_kb" not in checks  # nothing was encoded
    assert await stored_files() == []
    assert (await record_of(c.openid))["photo"] is None
    assert (await c.get(PHOTO)).error_code == "photo_not_found"


async def test_a_failed_upload_keeps_the_previous_photo(as_user, upload_photo, stored_files):
    c = await as_user("wang")
    first = await upload_photo(c, images.id_photo_jpeg())
    assert first.status == 201
    r = await upload_photo(c, images.two_faces_jpeg())
    assert r.status == 422
    got = await c.get(PHOTO)
    assert hashlib.sha256(got.body).hexdigest() == first.json["sha256"]
    assert [f["metadata"]["sha256"] for f in await stored_files()] == [first.json["sha256"]]


REFUSED = {
    "truncated_jpeg": (images.truncated_jpeg, 422, "corrupt_image", "损坏"),
    "zero_bytes": (lambda: b"", 400, "empty_file", "空"),
    "png_bomb": (images.png_bomb, 413, "image_too_large", "20000×20000"),
    "gif": (images.gif_bytes, 415, "unsupported_file_type", "GIF"),
    "svg": (images.svg_bytes, 415, "unsupported_file_type", "SVG"),
    "jpeg_claiming_30000px": (images.jpeg_with_fake_size, 413, "image_too_large", "尺寸"),
    "exe_named_jpg": (images.exe_bytes, 415, "unsupported_file_type", "可执行程序"),
}


@pytest.mark.parametrize("name", list(REFUSED))
async def test_an_unusable_file_gets_a_clear_4xx(as_user, upload_photo, stored_files, record_of, name):
    builder, status, code, words = REFUSED[name]
    c = await as_user("zhao")
    r = await upload_photo(c, builder(), filename="photo.jpg", content_type="image/jpeg")
    assert r.status == status, r.text
    error = r.json["error"]
    assert error["code"] == code
    assert words in error["message"]
    assert len(error["checks"]) == 1 and error["checks"][0]["result"] == "fail"
    assert error["checks"][0]["message"] == error["message"]
    assert await stored_files() == []
    assert (await record_of(c.openid))["photo"] is None


@pytest.mark.parametrize(
    "builder, converted",
    [
        (images.cmyk_jpeg, "RGB"),
        (images.png16_gray, "PNG"),
        (images.png16_rgb, "PNG"),
        (images.rgba_png, "PNG"),
    ],
    ids=["cmyk_jpeg", "png_16bit_grey", "png_16bit_rgb", "transparent_png"],
)
async def test_unusual_but_valid_images_are_converted(as_user, upload_photo, builder, converted):
    c = await as_user("sun")
    r = await upload_photo(c, builder(), filename="photo.png", content_type="image/png")
    assert r.status == 201, r.text
    checks = checks_by_id(r.json["checks"])
    assert checks["file_type"]["result"] == "fixed" and converted in checks["file_type"]["message"]
    got = await c.get(PHOTO)
    assert_id_photo(got.body)


async def test_a_heic_photo_is_converted(as_user, upload_photo):
    c = await as_user("heic")
    r = await upload_photo(c, images.heic_bytes(6), filename="IMG_0001.HEIC", content_type="image/heic")
    assert r.status == 201, r.text
    checks = checks_by_id(r.json["checks"])
    assert "HEIC" in checks["file_type"]["message"]
    assert checks["orientation"]["result"] == "fixed"
    assert_id_photo((await c.get(PHOTO)).body)


async def test_the_type_comes_from_the_bytes_not_the_name(as_user, upload_photo):
    c = await as_user("zhou")
    r = await upload_photo(c, images.to_png(images.portrait()), filename="x.gif", content_type="image/gif")
    assert r.status == 201, r.text
    r = await upload_photo(c, images.gif_bytes(), filename="x.jpg", content_type="image/jpeg")
    assert r.status == 415


async def test_a_too_small_source_fails_the_dimensions_check(as_user, upload_photo):
    c = await as_user("qian")
    r = await upload_photo(c, images.small_source_jpeg())
    assert r.status == 422
    checks = checks_by_id(r.json["error"]["checks"])
    assert checks["dimensions"]["result"] == "fail" and "210×280" in checks["dimensions"]["message"]
