"""The refusal raised when an upload is not a usable image file at all."""

from __future__ import annotations

# Stable codes -> (related check id, suggested HTTP status).
REJECTION_CODES: dict[str, tuple[str, int]] = {
    "empty_file": ("file_type", 400),
    "file_too_large": ("file_size", 413),
    "unsupported_file_type": ("file_type", 415),
    "corrupt_image": ("file_type", 422),
    "image_too_large": ("dimensions", 413),
}


class PhotoRejected(Exception):
    """The file cannot be processed; `code` is stable snake_case, `message` is Chinese."""

    def __init__(self, code: str, message: str) -> None:
        if code not in REJECTION_CODES:
            raise ValueError(f"unknown rejection code {code!r}")
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def check(self) -> str:
        """Id of the check this refusal belongs to (file_type, file_size or dimensions)."""
        return REJECTION_CODES[self.code][0]

    @property
    def http_status(self) -> int:
        """Suggested HTTP status for the web layer; it may map codes differently."""
        return REJECTION_CODES[self.code][1]

    def as_check(self) -> dict[str, str]:
        """The refusal in the same shape as a quality check result."""
        return {"check": self.check, "result": "fail", "message": self.message}

    def to_dict(self) -> dict[str, str]:
        """JSON-ready body: error code and Chinese message."""
        return {"error": self.code, "message": self.message}
