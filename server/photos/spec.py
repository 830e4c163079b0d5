"""What a finished ID photo must look like and what uploads are accepted."""

from __future__ import annotations

from dataclasses import dataclass

KNOWN_BACKGROUNDS = ("white", "blue", "red")


@dataclass(frozen=True)
class PhotoSpec:
    """Target photo format plus limits on the uploaded source file."""

    width_px: int = 295  # one-inch photo, 25 mm at 300 dpi
    height_px: int = 413  # 35 mm at 300 dpi
    dpi: int = 300
    min_kb: int = 10
    max_kb: int = 20
    backgrounds: tuple[str, ...] = ("white", "blue")
    min_source_width: int = 295
    min_source_height: int = 413
    max_source_pixels: int = 50_000_000
    max_bytes: int = 15 * 1024 * 1024

    def __post_init__(self) -> None:
        """Reject inconsistent settings early, when the spec is built."""
        for name in (
            "width_px",
            "height_px",
            "dpi",
            "max_kb",
            "min_source_width",
            "min_source_height",
            "max_source_pixels",
            "max_bytes",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"PhotoSpec.{name} must be positive")
        if not 0 <= self.min_kb <= self.max_kb:
            raise ValueError("PhotoSpec needs 0 <= min_kb <= max_kb")
        if not self.backgrounds:
            raise ValueError("PhotoSpec.backgrounds must not be empty")
        unknown = [b for b in self.backgrounds if b not in KNOWN_BACKGROUNDS]
        if unknown:
            raise ValueError(f"PhotoSpec.backgrounds has unknown colours: {unknown}")
        # Tolerate a list coming from settings while keeping the dataclass hashable.
        object.__setattr__(self, "backgrounds", tuple(self.backgrounds))
