"""Inbound webhook XML: parsed with defusedxml first, then typed with wechatpy's message classes.

Nothing reaches wechatpy or xmltodict before defusedxml has accepted the document with
DTDs forbidden, which rules out XXE, external entities and entity expansion.
"""
from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from wechatpy.events import EVENT_TYPES
from wechatpy.messages import MESSAGE_TYPES, BaseMessage, UnknownMessage

MAX_BODY = 64 * 1024  # WeChat messages are a few hundred bytes
MAX_DEPTH = 8  # WeChat nests at most three levels (SendPicsInfo > PicList > item)


class HostileXml(ValueError):
    """The body is not a well-formed, DTD-free WeChat XML document."""


def parse_fields(body: bytes | str) -> dict:
    """The children of `<xml>` as a dict (nested elements become dicts); HostileXml otherwise."""
    if not body or len(body) > MAX_BODY:
        raise HostileXml("empty or oversized body")
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError, UnicodeError) as exc:
        raise HostileXml(type(exc).__name__) from None
    if root.tag != "xml":
        raise HostileXml("root element is not <xml>")
    return _children(root)


def _children(element: Element, depth: int = 1) -> dict:
    """Element children as {tag: text or nested dict}; the first of repeated tags wins."""
    if depth > MAX_DEPTH:
        raise HostileXml("nested too deeply")
    out: dict = {}
    for child in element:
        if child.tag not in out:
            out[child.tag] = _children(child, depth + 1) if len(child) else (child.text or "")
    return out


def to_message(fields: dict) -> BaseMessage:
    """A wechatpy message/event object, mirroring `wechatpy.parser.parse_message` on a dict."""
    msg_type = str(fields.get("MsgType") or "").lower()
    if msg_type != "event":
        return MESSAGE_TYPES.get(msg_type, UnknownMessage)(fields)
    event = str(fields.get("Event") or "").lower()
    key = fields.get("EventKey")
    if event == "subscribe" and isinstance(key, str) and key.startswith("qrscene_"):
        fields = {**fields, "Event": "subscribe_scan", "EventKey": key[len("qrscene_"):]}
        event = "subscribe_scan"
    return EVENT_TYPES.get(event, UnknownMessage)(fields)
