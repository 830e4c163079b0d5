"""Check ids and the one-sentence Chinese explanations shown to users."""

from __future__ import annotations

CHECK_IDS = (
    "file_type",
    "dimensions",
    "orientation",
    "face_count",
    "head_position",
    "exposure",
    "background",
    "size_kb",
    "metadata",
)

COLOUR_NAMES = {"white": "白色", "blue": "蓝色", "red": "红色"}
KIND_NAMES = {"jpeg": "JPG", "png": "PNG", "heic": "HEIC"}

HEAD_PROBLEMS = {
    "too_close": "离镜头太近，头部占满了画面，请后退一些，把肩膀也拍进去。",
    "off_edge": "头部太靠近照片边缘，请把头放在画面中间，头顶和肩膀都要拍进去。",
    "too_small": "人像太小，请靠近一些重拍，让头和肩膀占画面的主要部分。",
}


def colours(names: tuple[str, ...] | list[str]) -> str:
    """Join allowed colours as "白色或蓝色"."""
    return "或".join(COLOUR_NAMES.get(n, n) for n in names)


def check(check_id: str, result: str, message: str) -> dict[str, str]:
    """One check result in the public shape."""
    assert check_id in CHECK_IDS and result in ("pass", "fixed", "fail")
    return {"check": check_id, "result": result, "message": message}
