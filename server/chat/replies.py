"""Passive replies: a text reply XML, or WeChat's bare `success` (no reply, no retry)."""

from __future__ import annotations

import time

SUCCESS = "success"
TEXT_REPLY = (
    "<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{source}]]></FromUserName>"
    "<CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[{content}]]></Content></xml>"
)


def cdata(value: str) -> str:
    """Text safe inside a CDATA section (a `]]>` is split across two sections)."""
    return value.replace("]]>", "]]]]><![CDATA[>")


def text_reply(to_user: str, from_user: str, content: str, ts: int | None = None) -> str:
    """The XML of a text reply from the account (`from_user`) to the person (`to_user`)."""
    return TEXT_REPLY.format(
        to=cdata(to_user), source=cdata(from_user), ts=ts or int(time.time()), content=cdata(content)
    )
