"""Log lines mask personal data: ID and mobile numbers, WeChat's openid, staff searches (issue 18, item 8)."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from urllib.parse import quote

import pytest

from server.logs import JsonFormatter, access_log
from server.masking import mask_openid, mask_search, mask_text
from tests.admin.conftest import A, add_staff, staff_client  # noqa: F401

OPENID = "oV2Xy5PqRsTuVwXyZ0123456789a"
NAME = "欧阳娜娜"


class Lines(logging.Handler):
    """Every record as the JSON line the server would write."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def access_lines():
    handler = Lines()
    level = access_log.level
    access_log.addHandler(handler)
    access_log.setLevel(logging.INFO)
    yield handler.lines
    access_log.removeHandler(handler)
    access_log.setLevel(level)


def test_masking_of_query_parameters():
    assert mask_openid(OPENID) == "oV2X****789a"
    assert mask_search(NAME) == "欧***"
    assert mask_search("350203199005171234") == "350203********1234"
    assert mask_search("13800138000") == "138****8000"
    url = f"/wechat?signature=s&openid={OPENID}&nonce=1"
    assert mask_text(url) == "/wechat?signature=s&openid=oV2X****789a&nonce=1"
    masked = mask_text(f"/admin/api/records?status=submitted&q={quote(NAME)}&page=2")
    assert quote(NAME) not in masked and masked.endswith(f"q={quote('欧')}***&page=2")
    assert mask_text("/admin/api/records?q=&page=2") == "/admin/api/records?q=&page=2"
    assert mask_text("/api/v1/public/transfer-sheets/DZ3502032027010100001?code=AB12CD34").endswith("code=****")


def test_the_formatter_masks_messages_and_tracebacks():
    handler = Lines()
    log = logging.getLogger("kjcj.test-logs")
    log.addHandler(handler)
    try:
        try:
            raise ValueError(f"GET /wechat?openid={OPENID}")
        except ValueError:
            log.exception("failed on /admin/api/applications?q=%s", quote(NAME))
    finally:
        log.removeHandler(handler)
    line = handler.lines[0]
    assert OPENID not in line and quote(NAME) not in line and NAME not in line
    assert "oV2X****789a" in line


async def test_access_lines_of_the_webhook_and_staff_searches_are_masked(
    server,
    http,
    staff_client,  # noqa: F811
    access_lines,
):
    ts, nonce = str(int(time.time())), "42"
    signature = hashlib.sha1("".join(sorted([server.services.settings.official_account_token, ts, nonce])).encode())
    r = await http.get(
        f"/wechat?signature={signature.hexdigest()}&timestamp={ts}&nonce={nonce}&echostr=hi&openid={OPENID}"
    )
    assert r.status == 200 and r.text == "hi"
    r = await http.get(f"/wechat?signature=bad&timestamp={ts}&nonce={nonce}&echostr=hi&openid={OPENID}")
    assert r.status >= 400

    await add_staff(server.services, "searcher", role="reviewer", regions=[A])
    staff = await staff_client(server, "searcher")
    for path in ("/admin/api/applications", "/admin/api/records"):
        for q in (NAME, "350203199005171234", "13800138000"):
            r = await staff.get(f"{path}?q={quote(q)}&page=1")
            assert r.status == 200, r.text

    entries = [json.loads(line) for line in access_lines]
    paths = [e["path"] for e in entries]
    assert sum("/wechat" in p for p in paths) == 2
    assert sum("q=" in p for p in paths) == 6
    text = "\n".join(access_lines)
    for secret in (OPENID, quote(NAME), NAME, "350203199005171234", "13800138000"):
        assert secret not in text
    assert all("openid=oV2X****789a" in p for p in paths if "/wechat" in p)
    assert f"q={quote('欧')}***&page=1" in text and "q=350203********1234" in text and "q=138****8000" in text
