"""process_photo: upload bytes in, compliant ID-photo JPEG and check results out."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import cv2
import numpy as np
from PIL import Image

from . import messages as msg
from .analysis import MIN_SAMPLE, apply_levels, measure_background, measure_exposure
from .color import apply_icc
from .crop import CropPlan, CropProblem, plan_crop
from .decode import Source, open_source
from .encode import encode_within
from .face import find_faces
from .sniff import sniff
from .spec import PhotoSpec

# First decode: at least twice the output size, so most crops need no second decode.
FIRST_DECODE_FACTOR = 2
_TURNS = {1: Image.Transpose.ROTATE_270, 3: Image.Transpose.ROTATE_90}


@dataclass
class PhotoResult:
    """Outcome of process_photo; `jpeg`, `width` and `height` are None unless `ok`."""

    ok: bool
    jpeg: bytes | None
    checks: list[dict[str, str]]
    sha256_original: str
    width: int | None = None
    height: int | None = None
    source_width: int = 0
    source_height: int = 0
    quality: int | None = None
    failed: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        """The first failing check's sentence, or an empty string when ok."""
        return next((c["message"] for c in self.checks if c["result"] == "fail"), "")


def _decode_rgb(source: Source, min_size: tuple[int, int], turns: int) -> Image.Image:
    """Decode at reduced scale, convert to RGB and apply any extra quarter turns."""
    rgb = source.decode_rgb(min_size)
    return rgb.transpose(_TURNS[turns]) if turns else rgb


def _file_type_check(source: Source) -> dict[str, str]:
    """JPG passes; other containers or colour modes are converted."""
    if source.kind != "jpeg":
        return msg.check("file_type", "fixed", f"已将 {msg.KIND_NAMES[source.kind]} 转换为 JPG。")
    if source.mode not in ("RGB", "L"):
        return msg.check("file_type", "fixed", "已转换为标准 RGB 色彩的 JPG。")
    return msg.check("file_type", "pass", "格式正确（JPG）。")


def _dimensions_check(width: int, height: int, spec: PhotoSpec) -> dict[str, str]:
    """The source must have at least the configured resolution."""
    if width >= spec.min_source_width and height >= spec.min_source_height:
        return msg.check("dimensions", "pass", f"分辨率 {width}×{height}，满足要求。")
    return msg.check(
        "dimensions",
        "fail",
        f"照片分辨率太低（{width}×{height}），至少需要 {spec.min_source_width}×"
        f"{spec.min_source_height} 像素，请用手机相机直接拍摄。",
    )


def _render(source: Source, rgb: Image.Image, plan: CropPlan, turns: int, spec: PhotoSpec) -> Image.Image:
    """Crop and resize to the output size, decoding again at a finer scale if needed."""
    out_w, out_h = spec.width_px, spec.height_px
    frame_w = source.size[1] if turns % 2 else source.size[0]
    scale = rgb.width / frame_w
    if plan.h * scale < out_h - 0.5 and scale < 1:  # first decode too coarse for this crop
        factor = out_h / plan.h
        need = (math.ceil(source.size[0] * factor), math.ceil(source.size[1] * factor))
        rgb = _decode_rgb(source, need, turns)
        scale = rgb.width / frame_w
    box = (plan.x * scale, plan.y * scale, (plan.x + plan.w) * scale, (plan.y + plan.h) * scale)
    out = rgb.resize((out_w, out_h), Image.Resampling.LANCZOS, box=box)
    if source.mode == "RGB" and source.icc:
        out = apply_icc(out, source.icc)  # wide-gamut phone photos -> sRGB
    return out


def process_photo(data: bytes, spec: PhotoSpec | None = None) -> PhotoResult:
    """Validate and fix an uploaded ID photo.

    Raises PhotoRejected when the bytes are not a usable JPEG/PNG/HEIC image (empty,
    too large, wrong type, corrupt, bomb). Otherwise returns a PhotoResult: `ok` is True
    and `jpeg` holds the finished photo only when no check has result "fail".
    """
    spec = spec or PhotoSpec()
    digest = hashlib.sha256(data).hexdigest()
    source = open_source(data, sniff(data, spec), spec)
    src_w, src_h = source.size
    checks = [_file_type_check(source), _dimensions_check(src_w, src_h, spec)]
    out_w, out_h = spec.width_px, spec.height_px

    first = (FIRST_DECODE_FACTOR * out_w, FIRST_DECODE_FACTOR * out_h)
    rgb = _decode_rgb(source, first, 0)
    search = find_faces(cv2.cvtColor(np.asarray(rgb), cv2.COLOR_RGB2GRAY))
    turns = search.quarter_turns
    if turns:
        rgb = rgb.transpose(_TURNS[turns])
    if source.rotated or turns:
        checks.append(msg.check("orientation", "fixed", "已自动把照片转正。"))
    else:
        checks.append(msg.check("orientation", "pass", "照片方向正确。"))

    final: Image.Image | None = None
    faces = search.faces
    if not faces:
        checks.append(msg.check("face_count", "fail", "没有检测到人脸，请正对镜头、露出五官后重拍。"))
    elif len(faces) > 1:
        checks.append(msg.check("face_count", "fail", f"检测到 {len(faces)} 张人脸，照片中只能有本人。"))
    else:
        checks.append(msg.check("face_count", "pass", "检测到一张人脸。"))
        frame_w, frame_h = (src_h, src_w) if turns % 2 else (src_w, src_h)
        face = faces[0].scaled(frame_w / rgb.width)
        plan = plan_crop(face, frame_w, frame_h, out_w, out_h)
        if isinstance(plan, CropProblem):
            checks.append(msg.check("head_position", "fail", msg.HEAD_PROBLEMS[plan.reason]))
        else:
            checks.append(
                msg.check("head_position", "fixed", f"已按证件照要求自动裁剪为 {out_w}×{out_h} 像素，头部居中。")
            )
            final = _render(source, rgb, plan, turns, spec)
            final, more = _quality_checks(final, plan, spec)
            checks.extend(more)

    failed = [c["check"] for c in checks if c["result"] == "fail"]
    result = PhotoResult(
        ok=False,
        jpeg=None,
        checks=checks,
        sha256_original=digest,
        source_width=src_w,
        source_height=src_h,
        failed=failed,
    )
    if failed or final is None:
        return result

    encoded = encode_within(final, spec.dpi, spec.min_kb, spec.max_kb)
    kb = len(encoded.jpeg) / 1024
    if encoded.fits:
        checks.append(msg.check("size_kb", "fixed", f"已压缩为 {kb:.1f} KB（要求 {spec.min_kb}–{spec.max_kb} KB）。"))
    else:
        checks.append(
            msg.check("size_kb", "fail", f"无法把照片压缩到 {spec.min_kb}–{spec.max_kb} KB，请换一张照片重试。")
        )
        result.failed = ["size_kb"]
        return result
    if "gps" in source.metadata:
        checks.append(msg.check("metadata", "fixed", "已删除照片中的拍摄位置等隐私信息。"))
    elif source.metadata:
        checks.append(msg.check("metadata", "fixed", "已删除照片中的拍摄参数等附加信息。"))
    else:
        checks.append(msg.check("metadata", "pass", "照片不含附加信息。"))
    result.ok, result.jpeg, result.quality = True, encoded.jpeg, encoded.quality
    result.width, result.height = out_w, out_h
    return result


def _quality_checks(final: Image.Image, plan: CropPlan, spec: PhotoSpec) -> tuple[Image.Image, list[dict[str, str]]]:
    """Exposure (with a mild automatic fix) then background, on the output-sized photo."""
    checks: list[dict[str, str]] = []
    face = plan.face_in_output(spec.width_px, spec.height_px)
    exposure = measure_exposure(np.asarray(final), face)
    if exposure.verdict == "too_dark":
        checks.append(msg.check("exposure", "fail", "照片太暗，请在光线充足的地方正对光源重拍。"))
    elif exposure.verdict == "too_bright":
        checks.append(msg.check("exposure", "fail", "照片曝光过度、脸部发白，请避开强光直射后重拍。"))
    elif exposure.verdict == "dark":
        final = apply_levels(final, exposure.gain, exposure.gamma)
        checks.append(msg.check("exposure", "fixed", "照片偏暗，已自动提亮。"))
    else:
        checks.append(msg.check("exposure", "pass", "亮度合适。"))

    allowed = msg.colours(spec.backgrounds)
    bg = measure_background(np.asarray(final), face)
    if bg.sampled < MIN_SAMPLE:
        checks.append(msg.check("background", "pass", "头部占满画面，背景无需检查。"))
    elif not bg.uniform:
        checks.append(msg.check("background", "fail", f"背景不是纯色，请站在{allowed}的纯色墙前重拍。"))
    elif bg.colour not in spec.backgrounds:
        seen = f"背景是{msg.COLOUR_NAMES[bg.colour]}，" if bg.colour else "背景颜色不符合要求，"
        checks.append(msg.check("background", "fail", f"{seen}请换成{allowed}背景重拍。"))
    else:
        checks.append(msg.check("background", "pass", f"背景为{msg.COLOUR_NAMES[bg.colour]}，符合要求。"))
    return final, checks
