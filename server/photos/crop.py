"""Choose the 25:35 crop that puts the head where an ID photo has it."""

from __future__ import annotations

from dataclasses import dataclass

from .face import Box

# Haar face box height as a fraction of the photo height. The box spans roughly brows to
# chin, so 0.36 gives a crown-to-chin head of about 58% of the height.
IDEAL_FACE_RATIO = 0.36
MIN_FACE_RATIO = 0.30
MAX_FACE_RATIO = 0.48
RATIO_STEP = 0.01
CROWN_ABOVE_BOX = 0.5  # hair top sits about half a box height above the box
IDEAL_CROWN_MARGIN = 0.08  # free space above the hair, fraction of the photo height
MIN_CROWN_MARGIN = 0.0
CHIN_BELOW_BOX = 0.15  # chin and neck start, box heights below the box bottom
MAX_CHIN_LINE = 0.85  # room for the neck and shoulders below
MAX_OFF_CENTRE = 0.08  # face centre offset, fraction of the photo width
MIN_UPSCALE_SOURCE = 0.75  # crop may be at most 1/0.75 times enlarged


@dataclass(frozen=True)
class CropPlan:
    """A crop rectangle (display pixels of the analysed frame) and where the face lands in it."""

    x: float
    y: float
    w: float
    h: float
    face: Box  # face box relative to the crop, in crop pixels

    def face_in_output(self, out_w: int, out_h: int) -> Box:
        """The face box in output-image pixels."""
        return Box(
            self.face.x * out_w / self.w,
            self.face.y * out_h / self.h,
            self.face.w * out_w / self.w,
            self.face.h * out_h / self.h,
        )


@dataclass(frozen=True)
class CropProblem:
    """Why no acceptable crop exists: "too_close", "off_edge" or "too_small"."""

    reason: str


def _candidate(face: Box, ratio: float, img_w: float, img_h: float, aspect: float) -> CropPlan | None:
    """The best-placed crop at one head scale, or None if it breaks a rule."""
    crop_h = face.h / ratio
    crop_w = crop_h * aspect
    if crop_w > img_w + 0.5 or crop_h > img_h + 0.5:
        return None
    crop_w, crop_h = min(crop_w, img_w), min(crop_h, img_h)
    # Ideal head placement, nudged up or down so both the crown and the chin rules hold.
    top_ratio = IDEAL_CROWN_MARGIN + CROWN_ABOVE_BOX * ratio
    top_ratio = min(top_ratio, MAX_CHIN_LINE - ratio * (1 + CHIN_BELOW_BOX))
    top_ratio = max(top_ratio, MIN_CROWN_MARGIN + CROWN_ABOVE_BOX * ratio)
    x = min(max(face.cx - crop_w / 2, 0.0), img_w - crop_w)
    y = min(max(face.y - top_ratio * crop_h, 0.0), img_h - crop_h)
    rel_top = (face.y - y) / crop_h
    crown = rel_top - CROWN_ABOVE_BOX * ratio
    chin_line = rel_top + ratio * (1 + CHIN_BELOW_BOX)
    off_centre = abs(face.cx - (x + crop_w / 2)) / crop_w
    if crown < MIN_CROWN_MARGIN or chin_line > MAX_CHIN_LINE or off_centre > MAX_OFF_CENTRE:
        return None
    return CropPlan(x, y, crop_w, crop_h, Box(face.x - x, face.y - y, face.w, face.h))


def plan_crop(face: Box, img_w: int, img_h: int, out_w: int, out_h: int) -> CropPlan | CropProblem:
    """Pick the head scale closest to ideal that fits the photo without much upscaling."""
    aspect = out_w / out_h
    steps = round((MAX_FACE_RATIO - MIN_FACE_RATIO) / RATIO_STEP)
    ratios = [MIN_FACE_RATIO + i * RATIO_STEP for i in range(steps + 1)]
    # Also the scales at which the crop uses the photo's full height or full width.
    ratios += [r for r in (face.h / img_h, face.h * aspect / img_w) if MIN_FACE_RATIO <= r <= MAX_FACE_RATIO]
    plans = [p for r in ratios if (p := _candidate(face, r, img_w, img_h, aspect))]
    if not plans:
        largest_crop_h = face.h / MAX_FACE_RATIO
        if largest_crop_h > img_h + 0.5 or largest_crop_h * aspect > img_w + 0.5:
            return CropProblem("too_close")
        return CropProblem("off_edge")

    def preference(plan: CropPlan) -> tuple[bool, float]:
        """Full-resolution crops first, then the head scale nearest the ideal."""
        return (plan.h < out_h, abs(plan.face.h / plan.h - IDEAL_FACE_RATIO))

    best = min(plans, key=preference)
    if best.h < out_h:
        best = max(plans, key=lambda p: p.h)  # must enlarge anyway: keep as many pixels as possible
        if best.h < out_h * MIN_UPSCALE_SOURCE:
            return CropProblem("too_small")
    return best
