"""The transfer sheet PDF: a rare name beyond the BMP, wrapped values, two pages, an embedded font subset.

The font comes from `make test`'s fonts step (`python -m server.fonts`): without one the text test
fails on purpose. The first page is also rendered to tests/artifacts/transfer-sheet.png (pdftoppm,
from Debian's poppler-utils) for a person to look at.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from server.transfers.sheet import SheetFontMissing, font_available, render_sheet
from settings import ROOT, SYSTEM_PDF_FONT, Settings
from tests.photos.images import ID_BLUE, portrait

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
NAME = "王\U0002a6a5明"  # 𪚥 (U+2A6A5), CJK Extension B
NUMBER = "DZ350203-2026-000123"
CODE = "K7M2Q9"
LONG = (
    "2010年起在厦门某会计师事务所从事审计工作，负责上市公司年报审计、内部控制审计及专项审计；"
    "2016年起任厦门某科技有限公司财务经理，主持会计核算、纳税申报、预算管理和资金管理，"
    "参与公司股份制改造及上市前的财务规范工作。"
) * 3


def _font_paths() -> list[Path]:
    return Settings.from_env(
        {"PDF_FONTS": os.environ.get("PDF_FONTS", ""), "CACHE_DIR": os.environ.get("CACHE_DIR", "")}
    ).pdf_font_paths


def _photo() -> bytes:
    out = io.BytesIO()
    portrait(ID_BLUE, size=(295, 413), face_frac=0.3, face_top_frac=0.2).save(out, "JPEG", quality=90)
    return out.getvalue()


def _sheet(photo: bytes | None = None) -> dict:
    history = [{"label": f"工作经历{i}", "display": LONG} for i in range(1, 4)]
    training = [
        {"label": f"{year}年继续教育", "display": "已完成 90 学分（专业科目 60 学分）"} for year in range(2016, 2026)
    ]
    return {
        "number": NUMBER,
        "code": CODE,
        "issued_at": dt.datetime(2026, 3, 1, 18, 30, tzinfo=dt.UTC),  # 2 March in Beijing
        "from_office": "厦门市思明区财政局",
        "to_region": "福建省福州市鼓楼区财政局",
        "reason_label": "工作单位变动",
        "name": NAME,
        "archive_no": "11010519491231002X",
        "verify_path": f"/api/v1/public/transfer-sheets/{NUMBER}?code={CODE}",
        "sections": [
            {
                "label": "基本信息",
                "fields": [
                    {"label": "姓名", "display": NAME},
                    {"label": "证件类型", "display": "居民身份证"},
                    {"label": "民族", "display": "汉族"},
                ],
            },
            {
                "label": "学历信息",
                "fields": [{"label": "最高学历", "display": "大学本科"}, {"label": "毕业院校", "display": "厦门大学"}],
            },
            {"label": "工作经历", "fields": history},
            {"label": "继续教育", "fields": training},
        ],
        "photo": photo,
    }


@pytest.fixture(scope="module")
def pdf_bytes() -> bytes:
    paths = _font_paths()
    if font_available(paths) is None:
        pytest.fail(f"no PDF font at {', '.join(map(str, paths))}: run `make fonts` (make test does) or set PDF_FONTS")
    return render_sheet(_sheet(photo=_photo()), paths)


def test_the_sheet_reads_back_with_the_rare_name_on_two_pages(pdf_bytes):
    reader = PdfReader(io.BytesIO(pdf_bytes))
    pages = len(reader.pages)
    assert pages >= 2
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert NAME in text and NUMBER in text and CODE in text
    assert "厦门大学" in text and "2026年03月02日" in text and "福建省福州市鼓楼区财政局" in text
    assert LONG in text.replace("\n", "")  # wrapped over several lines, nothing lost
    assert f"第 1 页 共 {pages} 页" in text and f"第 {pages} 页 共 {pages} 页" in text
    assert "核验真伪" in text and f"/api/v1/public/transfer-sheets/{NUMBER}" in text.replace("\n", "")
    assert reader.metadata is not None and reader.metadata.title == f"会计人员调转信息表 {NUMBER}"
    assert reader.metadata.creation_date == dt.datetime(2026, 3, 1, 18, 30, tzinfo=dt.UTC)


def test_the_font_is_embedded_as_a_small_subset_and_the_photo_as_an_image(pdf_bytes):
    page = PdfReader(io.BytesIO(pdf_bytes)).pages[0]
    fonts = list(page["/Resources"]["/Font"].values())
    assert fonts
    descriptor = fonts[0].get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
    embedded = descriptor["/FontFile2"].get_object().get_data()
    assert 1_000 < len(embedded) < 1_000_000  # the 51 MB font cut down to the characters used
    assert len(page.images) == 1


def test_the_same_sheet_gives_the_same_bytes():
    paths = _font_paths()
    if font_available(paths) is None:
        pytest.skip("no PDF font (the text test reports it)")
    sheet = _sheet()
    assert render_sheet(sheet, paths) == render_sheet(sheet, paths)


@pytest.mark.skipif(not shutil.which("pdftoppm"), reason="pdftoppm is absent (apt-get install poppler-utils)")
def test_first_page_renders_to_a_png(pdf_bytes, tmp_path):
    source = tmp_path / "sheet.pdf"
    source.write_bytes(pdf_bytes)
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / "transfer-sheet"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(source), str(target)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    with Image.open(target.with_suffix(".png")) as png:
        assert abs(png.width - 661) <= 1 and abs(png.height - 935) <= 1  # A4 at 80 dpi (poppler rounds up)
        dark = sum(png.convert("L").histogram()[:128])
        assert dark > 5_000  # text, rules and the photo, not a blank page


def test_no_font_file_is_a_clear_error(tmp_path):
    bogus = tmp_path / "bogus.ttf"
    with pytest.raises(SheetFontMissing, match="bogus.ttf"):
        render_sheet(_sheet(), [bogus])
    with pytest.raises(SheetFontMissing):
        render_sheet(_sheet(), [])
    real = tmp_path / "real.ttf"
    real.write_bytes(b"")
    assert font_available([bogus, real]) == real and font_available([bogus]) is None


def test_pdf_fonts_setting():
    defaults = Settings.from_env({}, cache_dir="/c").pdf_font_paths
    assert defaults == [Path("/c/fonts/BabelStoneHan.ttf"), SYSTEM_PDF_FONT]
    chosen = Settings.from_env({"PDF_FONTS": " fonts/a.ttf , /abs/b.ttf ,"}).pdf_font_paths
    assert chosen == [ROOT / "fonts/a.ttf", Path("/abs/b.ttf")]
