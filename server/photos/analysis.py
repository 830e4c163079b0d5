"""Exposure and background measurements on the cropped, output-sized photo."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from .face import Box

# Exposure, on the mean luma (0-255) of the central part of the face.
DARK_FAIL = 55
DARK_FIX = 90
FIX_TARGET = 115
MIN_GAMMA = 0.45
MAX_GAIN = 2.2
LEVELS_WHITE = 250  # the brightest 0.5% of pixels are stretched up to this
BRIGHT_FAIL = 225
CLIPPED_FAIL = 0.30  # share of face pixels at 250 or more

# Background, in CIELAB (L* 0-100).
UNIFORM_DELTA_E = 15.0
UNIFORM_SHARE = 0.85
MIN_SAMPLE = 150
WHITE_MIN_L = 70.0
WHITE_MAX_CHROMA = 15.0


@dataclass(frozen=True)
class Exposure:
    """Face brightness verdict: "ok", "dark" (fixable), "too_dark" or "too_bright"."""

    verdict: str
    face_luma: float
    gain: float = 1.0
    gamma: float = 1.0


def _luma(rgb: np.ndarray) -> np.ndarray:
    """Rec. 601 luma of an RGB array."""
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def _face_core(face: Box, width: int, height: int) -> tuple[slice, slice]:
    """Row and column slices of the central 60% of the face box, clipped to the image."""
    x0 = int(max(0, face.x + 0.2 * face.w))
    x1 = int(min(width, face.x + 0.8 * face.w))
    y0 = int(max(0, face.y + 0.2 * face.h))
    y1 = int(min(height, face.y + 0.8 * face.h))
    return slice(y0, max(y1, y0 + 1)), slice(x0, max(x1, x0 + 1))


def measure_exposure(rgb: np.ndarray, face: Box) -> Exposure:
    """Judge the face brightness; a moderately dark photo gets a levels + gamma correction.

    The correction first stretches the brightest tones (usually the white or blue wall)
    towards white, like an auto-levels, then lifts the mid-tones if the face is still dim.
    """
    rows, cols = _face_core(face, rgb.shape[1], rgb.shape[0])
    luma = _luma(rgb[rows, cols].astype(np.float32))
    mean = float(luma.mean()) if luma.size else 0.0
    clipped = float((luma >= 250).mean()) if luma.size else 0.0
    if mean < DARK_FAIL:
        return Exposure("too_dark", mean)
    if mean > BRIGHT_FAIL or clipped > CLIPPED_FAIL:
        return Exposure("too_bright", mean)
    if mean >= DARK_FIX:
        return Exposure("ok", mean)
    bright = float(np.percentile(rgb.max(axis=2), 99.5))
    gain = min(MAX_GAIN, max(1.0, LEVELS_WHITE / max(bright, 1.0)))
    lifted = min(255.0, mean * gain)
    gamma = 1.0
    if lifted < FIX_TARGET:
        gamma = max(MIN_GAMMA, math.log(FIX_TARGET / 255) / math.log(lifted / 255))
    return Exposure("dark", mean, gain, gamma)


def apply_levels(img: Image.Image, gain: float, gamma: float) -> Image.Image:
    """Multiply by `gain` (clipping at white), then apply `gamma`, via a lookup table."""
    lut = [min(255, round(255 * min(1.0, i * gain / 255) ** gamma)) for i in range(256)]
    return img.point(lut * 3)


@dataclass(frozen=True)
class Background:
    """Background verdict: colour name (or None), whether it is uniform, and the sample size."""

    colour: str | None
    uniform: bool
    sampled: int
    lab: tuple[float, float, float]


def background_mask(width: int, height: int, face: Box) -> np.ndarray:
    """Pixels beside and above the head, above the shoulders, where only background should be."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    # Generous ellipse around head and hair.
    cx, cy = face.cx, face.y + 0.35 * face.h
    ax, ay = 0.85 * face.w, 1.0 * face.h
    head = ((xx - cx) / ax) ** 2 + ((yy - cy) / ay) ** 2 <= 1.0
    above_shoulders = yy < face.y + 0.7 * face.h
    # Stay a couple of pixels off the frame edge, where resampling blends colours.
    inner = (xx >= 2) & (xx < width - 2) & (yy >= 2)
    return above_shoulders & ~head & inner


def _colour_name(lab: tuple[float, float, float]) -> str | None:
    """Classify a CIELAB colour as white, blue, red or None."""
    lightness, a, b = lab
    chroma = math.hypot(a, b)
    hue = math.degrees(math.atan2(b, a)) % 360
    if lightness >= WHITE_MIN_L and chroma <= WHITE_MAX_CHROMA:
        return "white"
    if chroma >= 20 and 215 <= hue <= 315:
        return "blue"
    if chroma >= 30 and (hue >= 345 or hue <= 50) and lightness <= 75:
        return "red"
    return None


def measure_background(rgb: np.ndarray, face: Box) -> Background:
    """Median colour and uniformity of the background strips around the head."""
    height, width = rgb.shape[:2]
    mask = background_mask(width, height, face)
    sampled = int(mask.sum())
    if sampled < MIN_SAMPLE:
        return Background(None, True, sampled, (0.0, 0.0, 0.0))
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)[mask].astype(np.float32)
    lab[:, 0] *= 100.0 / 255.0
    lab[:, 1:] -= 128.0
    median = np.median(lab, axis=0)
    delta = np.sqrt(((lab - median) ** 2).sum(axis=1))
    uniform = float((delta <= UNIFORM_DELTA_E).mean()) >= UNIFORM_SHARE
    median_t = (float(median[0]), float(median[1]), float(median[2]))
    return Background(_colour_name(median_t), uniform, sampled, median_t)
