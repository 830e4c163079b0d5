"""With the database gone, FAQ answers still go out (without dedupe) and nothing is an error page."""

from __future__ import annotations

import asyncio

from server.app import serve
from server.localdb import LocalDatabase
from tests.chat.conftest import WeChatSender, answer_of


async def test_the_bot_answers_faq_without_the_database_and_never_errors(
    settings, chat_settings, tmp_path, http_factory
):
    loop = asyncio.get_running_loop()
    local = LocalDatabase(tmp_path / "own-db", settings.cache_path)
    uri = await loop.run_in_executor(None, local.start)
    running = await serve(settings.replace(mongodb_uri=uri, **chat_settings("safe")), port=0, background=False)
    sender = WeChatSender(http_factory(running), "safe")
    try:
        assert (await sender.ask("o-down", "忘记密码了怎么办")).content == answer_of("password_reset")
        await loop.run_in_executor(None, local.stop)
        reply = await sender.ask("o-down", "忘记密码了怎么办")
        assert reply.status == 200 and reply.encrypted and reply.content == answer_of("password_reset")
        reply = await sender.ask("o-down", "绑定 123456")
        assert reply.is_success
    finally:
        await running.stop()
        await loop.run_in_executor(None, local.stop)
