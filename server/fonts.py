"""Provision the CJK font the transfer-sheet PDF embeds (BabelStone Han), without root.

`python -m server.fonts` (run by `make run`, `make test` and `make bench`, like `server.localdb`)
does nothing when a file of PDF_FONTS already exists (by default the cached copy, then Debian's
`fonts-babelstone-han` path). Otherwise it downloads that Debian package with `apt-get download`
into a temporary folder (no root needed), unpacks it with `dpkg-deb -x` and keeps only the TTF,
in the cache folder (`~/.cache/kjcj/fonts/BabelStoneHan.ttf`). Without apt-get, or when the
download fails, it prints a warning and exits 0: everything else runs, and rendering a transfer
sheet fails with a clear error until a font is there.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEBIAN_PACKAGE = "fonts-babelstone-han"
FONT_FILE = "BabelStoneHan.ttf"
FETCH_TIMEOUT = 900.0  # seconds for the download (about 11 MB) and the unpacking


class FontFetchError(RuntimeError):
    """The font package could not be downloaded or unpacked."""


def fetch_font(target: Path) -> Path:
    """Download Debian's BabelStone Han package and keep its TTF at `target` (atomically)."""
    apt_get, dpkg_deb = shutil.which("apt-get"), shutil.which("dpkg-deb")
    if not apt_get or not dpkg_deb:
        raise FontFetchError("apt-get/dpkg-deb not found (not a Debian-like system)")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=target.parent) as tmp:
        _run([apt_get, "download", "-q", DEBIAN_PACKAGE], cwd=tmp)
        debs = sorted(Path(tmp).glob(f"{DEBIAN_PACKAGE}_*.deb"))
        if not debs:
            raise FontFetchError(f"apt-get download left no {DEBIAN_PACKAGE} .deb")
        _run([dpkg_deb, "-x", str(debs[-1]), "unpacked"], cwd=tmp)
        found = sorted(Path(tmp, "unpacked").rglob(FONT_FILE))
        if not found:
            raise FontFetchError(f"{debs[-1].name} has no {FONT_FILE}")
        found[0].replace(target)  # same file system: the cache never holds half a font
    return target


def _run(cmd: list[str], cwd: str) -> None:
    """One step of the fetch; raise with the tail of its output when it fails."""
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=FETCH_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise FontFetchError(f"{' '.join(cmd)} took more than {FETCH_TIMEOUT:.0f} s") from None
    if proc.returncode != 0:
        output = (proc.stderr.strip() or proc.stdout.strip())[-500:]
        raise FontFetchError(f"{' '.join(cmd)} failed: {output}")


def main() -> None:
    """`python -m server.fonts`: make sure the PDF renderer has a font; warn (never fail) when it cannot."""
    from settings import CACHED_PDF_FONT, Settings

    settings = Settings.from_env()
    paths = settings.pdf_font_paths
    present = next((p for p in paths if p.is_file()), None)
    if present:
        print(f"pdf font: {present}")
        return
    if settings.pdf_fonts.strip():
        print(f"warning: PDF_FONTS names no existing file ({settings.pdf_fonts}); transfer sheets cannot be rendered")
        return
    target = settings.cache_path / CACHED_PDF_FONT
    started = time.monotonic()
    print(f"fetching {DEBIAN_PACKAGE} into {target.parent} (once) ...", file=sys.stderr, flush=True)
    try:
        fetch_font(target)
    except (FontFetchError, OSError) as exc:
        print(
            f"warning: no PDF font, transfer sheets cannot be rendered: {exc}. Install Debian's "
            f"{DEBIAN_PACKAGE}, put a CJK TrueType font at {target}, or set PDF_FONTS.",
            file=sys.stderr,
        )
        return
    print(f"pdf font: {target} ({time.monotonic() - started:.1f} s)")


if __name__ == "__main__":
    main()
