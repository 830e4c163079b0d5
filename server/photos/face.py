"""Frontal face detection with OpenCV's bundled Haar cascade, on a small grey copy."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

CASCADE_FILE = "haarcascade_frontalface_default.xml"

# Detection runs on a copy whose short side is this long; with the cascade's 24 px
# window the smallest face found is ~15% of the photo's short side (coarse pass) or
# ~7.5% (fine pass, only tried when the coarse pass finds nothing).
COARSE_SHORT_SIDE = 160
FINE_SHORT_SIDE = 320
MIN_WINDOW = 24
SCALE_FACTOR = 1.1
MIN_NEIGHBORS = 3
REFINE_FACE_PX = 72  # face width used when re-detecting one face for a precise box
# Faces smaller than this fraction of the largest one are treated as background noise.
SECONDARY_FACE_RATIO = 0.5

_cascade: cv2.CascadeClassifier | None = None
# A CascadeClassifier keeps per-call state, so one shared instance is used under a lock.
_lock = threading.Lock()


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in pixel coordinates."""

    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        """Horizontal centre."""
        return self.x + self.w / 2

    def scaled(self, factor: float) -> Box:
        """The same box in an image `factor` times larger."""
        return Box(self.x * factor, self.y * factor, self.w * factor, self.h * factor)


def _classifier() -> cv2.CascadeClassifier:
    """The process-wide cascade, loaded on first use (caller holds the lock)."""
    global _cascade
    if _cascade is None:
        cascade = cv2.CascadeClassifier(cv2.data.haarcascades + CASCADE_FILE)  # type: ignore[attr-defined]
        if cascade.empty():
            raise RuntimeError(f"cannot load OpenCV cascade {CASCADE_FILE}")
        _cascade = cascade
    return _cascade


def _shrink(gray: np.ndarray, short_side: int) -> tuple[np.ndarray, float]:
    """A copy whose short side is at most `short_side`, and the factor applied."""
    h, w = gray.shape[:2]
    factor = min(1.0, short_side / min(h, w))
    if factor == 1.0:
        return gray, factor
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA), factor


def _run(small: np.ndarray, min_size: int, max_size: int = 0) -> list[tuple[int, int, int, int]]:
    """detectMultiScale under the process-wide lock."""
    with _lock:
        found = _classifier().detectMultiScale(
            small,
            scaleFactor=SCALE_FACTOR,
            minNeighbors=MIN_NEIGHBORS,
            minSize=(min_size, min_size),
            maxSize=(max_size, max_size),
        )
    return [(int(f[0]), int(f[1]), int(f[2]), int(f[3])) for f in found] if len(found) else []


def _detect(gray: np.ndarray, short_side: int) -> list[Box]:
    """Faces in `gray` (its coordinates), searched on a copy with the given short side.

    The plain image is tried first; a histogram-equalised copy rescues dark or washed-out
    photos (the equalised pass alone misses some well-lit faces, hence both).
    """
    small, factor = _shrink(gray, short_side)
    found = _run(small, MIN_WINDOW) or _run(cv2.equalizeHist(small), MIN_WINDOW)
    boxes = [Box(float(x), float(y), float(w), float(h)).scaled(1 / factor) for (x, y, w, h) in found]
    if not boxes:
        return []
    largest = max(b.w for b in boxes)
    return sorted((b for b in boxes if b.w >= SECONDARY_FACE_RATIO * largest), key=lambda b: -b.w)


def refine(gray: np.ndarray, box: Box) -> Box:
    """Re-detect one face at higher resolution inside a window around it, for a tighter box."""
    h, w = gray.shape[:2]
    pad = box.w * 0.6
    x0, y0 = max(0, int(box.x - pad)), max(0, int(box.y - pad))
    x1, y1 = min(w, int(box.x + box.w + pad)), min(h, int(box.y + box.h + pad))
    factor = min(1.0, REFINE_FACE_PX / box.w)
    roi = gray[y0:y1, x0:x1]
    if factor < 1.0:
        size = (max(1, round(roi.shape[1] * factor)), max(1, round(roi.shape[0] * factor)))
        roi = cv2.resize(roi, size, interpolation=cv2.INTER_AREA)
    expected = box.w * factor
    lo, hi = max(MIN_WINDOW, int(expected * 0.7)), int(expected * 1.4) + 1
    found = _run(roi, lo, hi) or _run(cv2.equalizeHist(roi), lo, hi)
    if not found:
        return box
    # The candidate nearest the coarse box centre.
    cx, cy = (box.cx - x0) * factor, (box.y + box.h / 2 - y0) * factor
    fx, fy, fw, fh = min(found, key=lambda f: (f[0] + f[2] / 2 - cx) ** 2 + (f[1] + f[3] / 2 - cy) ** 2)
    return Box(x0 + fx / factor, y0 + fy / factor, fw / factor, fh / factor)


@dataclass(frozen=True)
class FaceSearch:
    """Faces found and the extra quarter turns (0, 1 = 90° clockwise, 3 = 90° counter-clockwise)."""

    faces: list[Box]
    quarter_turns: int = 0


def _rotate(gray: np.ndarray, quarter_turns: int) -> np.ndarray:
    """Rotate clockwise by quarter turns."""
    code = {1: cv2.ROTATE_90_CLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_COUNTERCLOCKWISE}
    return cv2.rotate(gray, code[quarter_turns]) if quarter_turns else gray


def find_faces(gray: np.ndarray, try_rotations: bool = True) -> FaceSearch:
    """Search upright, then turned sideways, then finer; a single face gets a refined box."""
    attempts = [(0, COARSE_SHORT_SIDE)]
    if try_rotations:
        # A sideways photo whose orientation tag was lost: an upright face is decisive.
        attempts += [(1, COARSE_SHORT_SIDE), (3, COARSE_SHORT_SIDE)]
    if min(gray.shape[:2]) > COARSE_SHORT_SIDE:
        attempts.append((0, FINE_SHORT_SIDE))
    for turns, short_side in attempts:
        frame = _rotate(gray, turns)
        faces = _detect(frame, short_side)
        if faces:
            if len(faces) == 1:
                faces = [refine(frame, faces[0])]
            return FaceSearch(faces, turns)
    return FaceSearch([])
