"""ID-photo pipeline: pure functions from uploaded bytes to a compliant JPEG plus checks.

    result = process_photo(data, PhotoSpec())   # CPU-bound: run it in an executor

Two ways a photo is turned down:

* PhotoRejected(code, message) is raised when the bytes are not a usable image file
  (nothing was analysed). `code` is one of REJECTION_CODES: empty_file, file_too_large,
  unsupported_file_type, corrupt_image, image_too_large; `http_status` suggests
  400/413/415/422 and `to_dict()` gives {"error": code, "message": 中文}.
* Otherwise a PhotoResult is returned. `checks` lists
  {"check": id, "result": "pass"|"fixed"|"fail", "message": 中文} in CHECK_IDS order;
  checks that could not be evaluated because an earlier one failed (e.g. no background
  check without a face) are left out. `ok` is True and `jpeg` is set only when no check
  failed; `message` is the first failing sentence (for a 422 answer).

The original bytes are not kept; only `sha256_original` is.
"""

from .errors import REJECTION_CODES, PhotoRejected
from .messages import CHECK_IDS
from .pipeline import PhotoResult, process_photo
from .spec import PhotoSpec

__all__ = ["CHECK_IDS", "REJECTION_CODES", "PhotoRejected", "PhotoResult", "PhotoSpec", "process_photo"]
