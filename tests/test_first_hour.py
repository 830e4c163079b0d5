"""What a newcomer trips over in the first hour (issue 17, item 5), each shown fixed.

- the README's curl walk-through uploads files `make demo-files` writes, and they pass the real endpoints;
- `staff add` without a terminal says in one line to use --password-stdin;
- `menu push` in demo mode goes to the fake WeChat API;
- safe mode says in the log why a message did not decrypt (an app id other than the one configured);
- the access log shows the path and masked parameters, never a signature or a whole query string;
- a rejection reason ending in "。" does not give the notice a doubled full stop.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from server.chat.crypto import signature
from server.commands import menu as menu_command
from server.logs import JsonFormatter, access_log
from server.notify.notices import TEMPLATES, render
from tests.chat.conftest import AES_KEY, APPID, WeChatSender, chat, chat_settings, text_xml  # noqa: F401
from tests.miniprogram.conftest import form

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
OPENID = "oV2Xy5PqRsTuVwXyZ0123456789a"


def walkthrough() -> str:
    """The README's accountant walk-through (the shell block after "The whole accountant flow")."""
    start = README.index("The whole accountant flow with curl")
    block = README[start:].split("```sh\n", 1)[1]
    return block.split("```", 1)[0]


def make_demo_files(directory: Path) -> dict[str, bytes]:
    """Run what `make demo-files` runs; the files it wrote."""
    done = subprocess.run(
        [sys.executable, "-m", "server.demo_files", str(directory)], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return {p.name: p.read_bytes() for p in directory.iterdir()}


# ---------- sample files for the walk-through ----------


def test_the_walkthrough_uploads_the_files_make_demo_files_writes():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^demo-files:.*\n\t\$\(BIN\)/python -m server\.demo_files \$\(DEMO_DIR\)$", makefile, re.M)
    assert re.search(r"^DEMO_DIR \?= \.data/demo$", makefile, re.M)
    steps = walkthrough()
    assert steps.startswith("make demo-files; D=.data/demo\n")
    uploads = re.findall(r'-F "file=@([^"]+)"', steps)
    assert uploads == ["$D/scan.jpg", "$D/photo.jpg"]
    assert "**Photo rules**" in README and "PHOTO_MIN_SOURCE_WIDTH" in README and "PHOTO_BACKGROUNDS" in README


async def test_the_demo_files_pass_the_real_upload_endpoints_as_the_walkthrough_sends_them(server, http, tmp_path):
    files = make_demo_files(tmp_path / "demo")
    assert set(files) == {"photo.jpg", "scan.jpg"}
    assert make_demo_files(tmp_path / "again") == files  # the same bytes every time

    steps = walkthrough()
    code = re.search(r'"code":"(demo:\w+)"', steps).group(1)
    r = await http.post("/api/v1/auth/login", json={"code": code})
    assert r.status == 200, r.text
    http.token = r.json["token"]
    body = json.loads(re.search(r"PATCH \$B/api/v1/me/record .*? -d '(\{.*?\})'\n", steps, re.S).group(1))
    r = await http.patch("/api/v1/me/record", json=body)
    assert r.status == 200, r.text
    kinds = re.search(r"for kind in ([\w ]+); do", steps).group(1).split()
    for kind in kinds:
        r = await http.post(f"/api/v1/me/documents/{kind}", data=form(files["scan.jpg"], "scan.jpg"))
        assert r.status == 201, (kind, r.text)
    r = await http.post("/api/v1/me/photo", data=form(files["photo.jpg"], "photo.jpg"))
    assert r.status == 201, r.text
    checks = {c["check"]: c["result"] for c in r.json["checks"]}
    assert "fail" not in checks.values() and {"face_count", "background", "exposure", "size_kb"} <= set(checks)
    assert r.json["width"] == 295 and r.json["height"] == 413
    r = await http.post("/api/v1/me/record/submit", json={"commitment": True})
    assert r.status == 200, r.text
    assert r.json["status"] == "submitted"


async def test_a_small_photo_is_refused_by_the_dimensions_rule_the_readme_states(server, http, tmp_path):
    files = make_demo_files(tmp_path / "demo")
    small = io.BytesIO()
    Image.open(io.BytesIO(files["photo.jpg"])).resize((210, 280)).save(small, "JPEG", quality=90)
    r = await http.post("/api/v1/auth/login", json={"code": "demo:small"})
    http.token = r.json["token"]
    r = await http.post("/api/v1/me/photo", data=form(small.getvalue(), "small.jpg"))
    assert r.status == 422, r.text
    failed = {c["check"]: c["message"] for c in r.json["error"]["checks"] if c["result"] == "fail"}
    assert "dimensions" in failed and "295×413" in failed["dimensions"]


# ---------- staff add without a terminal ----------


@pytest.mark.parametrize("stdin", [subprocess.DEVNULL, "pipe"])
async def test_staff_add_without_a_terminal_says_to_use_password_stdin(mongodb_uri, db_name, tmp_path, stdin):
    env = {k: v for k, v in os.environ.items() if k not in ("MONGODB_URI", "DATA_DIR", "MONGODB_DB")}
    env.update(ENVIRONMENT="test", LOG_LEVEL="WARNING", MONGODB_URI=mongodb_uri, MONGODB_DB=db_name)
    args = ["staff", "add", "--username", "li", "--role", "reviewer", "--regions", "350203"]

    def run() -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "server", *args],
            cwd=ROOT,
            env=env,
            **({"input": "secret-pass-1\n"} if stdin == "pipe" else {"stdin": stdin}),
            capture_output=True,
            text=True,
            start_new_session=True,  # no controlling terminal, as under cron, CI or a service
            timeout=60,
        )

    done = await asyncio.to_thread(run)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "--password-stdin" in lines[0] and "Traceback" not in done.stderr
    assert "python -m server staff add --username li --role reviewer --regions 350203 --password-stdin" in lines[0]


# ---------- menu push in demo mode ----------


async def test_menu_push_in_demo_mode_goes_to_the_fake_not_to_wechat(server, fake_wechat, capsys):
    settings = server.services.settings
    assert not settings.official_account_appid  # demo mode
    # WECHAT_API_BASE stands for the real server here: nothing may reach it
    assert await menu_command.run(argparse.Namespace(action="push"), server.services) == 0
    out = capsys.readouterr().out
    assert "demo mode" in out and "fake WeChat API" in out and "nothing was sent to WeChat" in out
    assert fake_wechat.menus == [] and not fake_wechat.token_calls


# ---------- safe mode: why a message did not decrypt ----------


async def test_safe_mode_logs_why_a_message_did_not_decrypt(chat, caplog):  # noqa: F811
    _, sender = await chat("safe", official_account_appid="")  # so the app id found only in the code
    caplog.set_level(logging.WARNING, logger="kjcj.chat.crypto")
    for_the_real_account = WeChatSender(sender.http, "safe", appid=APPID)
    reply = await for_the_real_account.send(text_xml("demo-chat-zhangsan", "你好"))
    assert reply.status == 400 and b"undecryptable" in reply.body
    [line] = [r.getMessage() for r in caplog.records if r.name == "kjcj.chat.crypto"]
    assert f"app id '{APPID}'" in line and "'demo-oa-appid'" in line and "OFFICIAL_ACCOUNT_APPID" in line

    caplog.clear()
    wrong_key = WeChatSender(sender.http, "safe", aes_key=AES_KEY[::-1], appid="demo-oa-appid")
    reply = await wrong_key.send(text_xml("demo-chat-zhangsan", "你好"))
    assert reply.status == 400
    [line] = [r.getMessage() for r in caplog.records if r.name == "kjcj.chat.crypto"]
    assert "no configured key decrypts it" in line and "OFFICIAL_ACCOUNT_AES_KEY" in line

    right = WeChatSender(sender.http, "safe", appid="demo-oa-appid")
    reply = await right.send(text_xml("demo-chat-zhangsan", "你好"))
    assert reply.status == 200 and reply.encrypted


# ---------- the access log ----------


class Lines(logging.Handler):
    """Every record as the JSON line the server would write."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


async def test_the_access_log_shows_the_path_and_masked_parameters_only(server, http):
    handler = Lines()
    level = access_log.level
    access_log.addHandler(handler)
    access_log.setLevel(logging.INFO)
    try:
        token = server.services.settings.official_account_token
        ts, nonce, echo = str(int(time.time())), "918273645", "echo-challenge-5551234"
        sig = signature(token, ts, nonce)
        r = await http.get(f"/wechat?signature={sig}&timestamp={ts}&nonce={nonce}&echostr={echo}&openid={OPENID}")
        assert r.status == 200 and r.text == echo
        body = b"<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><MsgType>text</MsgType></xml>"
        msg_sig = signature(token, ts, nonce, "x")
        r = await http.post(
            f"/wechat?signature=bad{sig[3:]}&timestamp={ts}&nonce={nonce}&encrypt_type=aes&msg_signature={msg_sig}",
            raw=body,
        )
        assert r.status >= 400
    finally:
        access_log.removeHandler(handler)
        access_log.setLevel(level)
    paths = [json.loads(line)["path"] for line in handler.lines if "/wechat" in line]
    assert len(paths) == 2
    assert paths[0] == "/wechat?signature=****&timestamp=****&nonce=****&echostr=****&openid=oV2X****789a"
    assert paths[1] == "/wechat?signature=****&timestamp=****&nonce=****&encrypt_type=aes&msg_signature=****"
    text = "\n".join(handler.lines)
    for secret in (sig, sig[3:], msg_sig, ts, nonce, echo, OPENID):
        assert secret not in text


def test_other_log_lines_naming_a_webhook_uri_mask_its_signature_too():
    handler = Lines()
    log = logging.getLogger("kjcj.test-first-hour")
    log.addHandler(handler)
    try:
        log.error(
            "Uncaught exception POST /wechat?signature=abcdef0123&timestamp=1700000000&nonce=77&openid=%s", OPENID
        )
    finally:
        log.removeHandler(handler)
    msg = json.loads(handler.lines[0])["msg"]
    assert msg.endswith("/wechat?signature=****&timestamp=****&nonce=****&openid=oV2X****789a")


# ---------- rejection notices ----------


@pytest.mark.parametrize("reason", ["照片不合格。", "照片不合格！", "照片不合格.", "照片不合格。 ", "照片不合格"])
def test_a_reason_ending_in_a_full_stop_is_not_doubled(reason):
    import datetime as dt

    at = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
    for key, (_, _, _, template) in TEMPLATES.items():
        if "{reason}" not in template:
            continue
        body = render(key, "n-1", "openid", "app", reason, "张三", "思明区财政局", at)["body"]
        assert "照片不合格。" in body, body
        assert not re.search(r"[。.！!][。.]", body), body
    body = render("collection_rejected", "n-1", "o", "app", reason, "张三", "", at)["body"]
    assert body == "您提交的会计人员信息未通过审核。原因：照片不合格。请按要求修改后重新提交。"
