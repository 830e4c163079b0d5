"""Unit tests of the pipeline's parts: spec, crop planning, encoding, colour analysis."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from server.photos import PhotoSpec
from server.photos.analysis import measure_background, measure_exposure
from server.photos.crop import CropPlan, CropProblem, plan_crop
from server.photos.encode import encode_within, size_window
from server.photos.face import Box, find_faces
from server.photos.sniff import sniff
from tests.photos import images


def test_spec_defaults() -> None:
    spec = PhotoSpec()
    assert (spec.width_px, spec.height_px, spec.dpi) == (295, 413, 300)
    assert (spec.min_kb, spec.max_kb) == (10, 20)
    assert spec.backgrounds == ("white", "blue")
    assert (spec.min_source_width, spec.min_source_height) == (295, 413)
    hash(spec)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_kb": 30, "max_kb": 20},
        {"width_px": 0},
        {"backgrounds": ()},
        {"backgrounds": ("green",)},
        {"max_bytes": -1},
    ],
)
def test_spec_rejects_bad_settings(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        PhotoSpec(**kwargs)


def test_spec_accepts_list_backgrounds() -> None:
    assert PhotoSpec(backgrounds=["blue"]).backgrounds == ("blue",)


def test_sniff_heic_but_not_avif() -> None:
    spec = PhotoSpec()
    assert sniff(images.heic_bytes(), spec) == "heic"
    avif = b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + b"\x00" * 64
    with pytest.raises(Exception) as info:
        sniff(avif, spec)
    assert getattr(info.value, "code", None) == "unsupported_file_type"


# --- crop planning ----------------------------------------------------------------------


def test_crop_centres_face_with_id_proportions() -> None:
    face = Box(1300, 1200, 600, 600)
    plan = plan_crop(face, 3024, 4032, 295, 413)
    assert isinstance(plan, CropPlan)
    assert plan.w / plan.h == pytest.approx(295 / 413, rel=1e-6)
    assert plan.x >= 0 and plan.x + plan.w <= 3024 and plan.y >= 0 and plan.y + plan.h <= 4032
    assert plan.face.h / plan.h == pytest.approx(0.36, abs=0.005)
    assert abs(plan.face.x + plan.face.w / 2 - plan.w / 2) < 1
    out = plan.face_in_output(295, 413)
    assert 0.2 * 413 < out.y < 0.35 * 413


def test_crop_near_an_edge_is_shifted_or_tightened() -> None:
    # Face close to the left edge: the crop hugs the edge and the face stays near centre.
    plan = plan_crop(Box(40, 400, 300, 300), 1200, 1600, 295, 413)
    assert isinstance(plan, CropPlan)
    assert plan.x == 0
    assert abs(plan.face.x + plan.face.w / 2 - plan.w / 2) <= 0.08 * plan.w


def test_crop_problems() -> None:
    assert plan_crop(Box(100, 100, 900, 900), 1000, 1200, 295, 413) == CropProblem("too_close")
    assert plan_crop(Box(400, 0, 300, 300), 1200, 1600, 295, 413) == CropProblem("off_edge")
    assert plan_crop(Box(100, 100, 60, 60), 1200, 1600, 295, 413) == CropProblem("too_small")


def test_crop_prefers_full_resolution_over_ideal_scale() -> None:
    # A 295x413 source already framed with a smallish head must not be zoomed (upscaled).
    plan = plan_crop(Box(82, 110, 130, 130), 295, 413, 295, 413)
    assert isinstance(plan, CropPlan)
    assert plan.h == pytest.approx(413, abs=1)


# --- encoding ---------------------------------------------------------------------------


def test_size_window_satisfies_both_kb_readings() -> None:
    assert size_window(10, 20) == (10 * 1024, 20 * 1000)


def test_encode_lands_in_window_for_busy_and_flat_images() -> None:
    rng = np.random.default_rng(1)
    busy = Image.fromarray(rng.integers(0, 256, (413, 295, 3), dtype=np.uint8))
    flat = Image.new("RGB", (295, 413), (250, 250, 250))
    photo = images.portrait(size=(295, 413))
    for img in (photo, busy):
        enc = encode_within(img, 300, 10, 20)
        assert enc.fits, img
        assert 10 * 1024 <= len(enc.jpeg) <= 20 * 1000
        assert Image.open(io.BytesIO(enc.jpeg)).info["dpi"] == (300, 300)
    assert not encode_within(flat, 300, 10, 20).fits  # cannot be padded honestly


def test_encode_uses_highest_quality_that_fits() -> None:
    photo = images.portrait(size=(295, 413))
    enc = encode_within(photo, 300, 10, 20)
    bigger = io.BytesIO()
    photo.save(bigger, "JPEG", quality=enc.quality + 1, dpi=(300, 300), optimize=True)
    assert enc.quality == 95 or bigger.tell() > 20 * 1000


# --- analysis ---------------------------------------------------------------------------

FACE = Box(85, 100, 125, 125)


def flat(colour: tuple[int, int, int]) -> np.ndarray:
    """A 295x413 plain image."""
    return np.full((413, 295, 3), colour, np.uint8)


@pytest.mark.parametrize(
    "colour, name",
    [
        ((255, 255, 255), "white"),
        ((235, 236, 238), "white"),
        ((67, 142, 219), "blue"),
        ((0, 90, 200), "blue"),
        ((200, 30, 40), "red"),
        ((128, 128, 128), None),
        ((40, 160, 60), None),
    ],
)
def test_background_colours(colour: tuple[int, int, int], name: str | None) -> None:
    bg = measure_background(flat(colour), FACE)
    assert bg.uniform
    assert bg.colour == name


def test_background_ignores_the_head_but_not_clutter() -> None:
    arr = flat((255, 255, 255))
    arr[80:260, 60:235] = (120, 80, 40)  # hair and face region
    assert measure_background(arr, FACE).uniform
    arr[0:120, 0:60] = (30, 30, 30)  # a dark object beside the head
    arr[0:120, 235:] = (200, 40, 40)
    assert not measure_background(arr, FACE).uniform


def test_exposure_verdicts() -> None:
    assert measure_exposure(flat((20, 20, 20)), FACE).verdict == "too_dark"
    uniform_dim = measure_exposure(flat((70, 70, 70)), FACE)
    assert uniform_dim.verdict == "dark" and uniform_dim.gain > 1.5 and uniform_dim.gamma == 1
    with_bright_wall = flat((70, 70, 70))
    with_bright_wall[:60] = 210  # levels cannot stretch much, so the mid-tones are lifted
    dim = measure_exposure(with_bright_wall, FACE)
    assert dim.verdict == "dark" and 1 < dim.gain < 1.3 and dim.gamma < 1
    assert measure_exposure(flat((180, 140, 120)), FACE).verdict == "ok"
    assert measure_exposure(flat((252, 252, 252)), FACE).verdict == "too_bright"


# --- face detection ---------------------------------------------------------------------


def test_face_found_on_astronaut_and_not_on_gradient() -> None:
    grey = np.asarray(images.portrait(size=(600, 800)).convert("L"))
    found = find_faces(grey)
    assert len(found.faces) == 1 and found.quarter_turns == 0
    face = found.faces[0]
    assert abs(face.cx - 300) < 30 and 0.15 * 800 < face.h < 0.3 * 800
    gradient = np.tile(np.linspace(0, 255, 800, dtype=np.uint8), (600, 1))
    assert find_faces(gradient).faces == []
