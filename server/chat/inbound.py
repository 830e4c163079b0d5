"""Inbound webhook XML: parsed by expat with every DTD refused, then typed with wechatpy's classes.

Nothing reaches wechatpy before the parser here has accepted the document. A DOCTYPE (and
with it any entity declaration, XXE or entity expansion) stops expat at its first byte:
the same guard defusedxml installs (`forbid_dtd`), set directly on the C parser, which
builds the field dict itself. defusedxml routes through the pure-Python ElementTree
parser, which cost ~28 us of the webhook's ~300 us per message; this costs ~15 us.
"""

from __future__ import annotations

from xml.parsers import expat

from wechatpy.events import EVENT_TYPES
from wechatpy.messages import MESSAGE_TYPES, BaseMessage, UnknownMessage

MAX_BODY = 64 * 1024  # WeChat messages are a few hundred bytes
MAX_DEPTH = 8  # WeChat nests at most three levels (SendPicsInfo > PicList > item)


class HostileXml(ValueError):
    """The body is not a well-formed, DTD-free WeChat XML document."""


def _refuse(*_args) -> None:
    raise HostileXml("DTD or entity declaration")


def parse_fields(body: bytes | str) -> dict:
    """The children of `<xml>` as a dict (nested elements become dicts); HostileXml otherwise.

    A leaf's value is its text ("" when empty); an element with children becomes a dict of
    them and its own loose text is dropped; of repeated tags the first one wins.
    """
    if not body or len(body) > MAX_BODY:
        raise HostileXml("empty or oversized body")
    stack: list[list] = []  # per open element: [its children dict or None, its text pieces, its tag]
    done: list[dict] = []

    def start(tag: str, _attrs: dict) -> None:
        if stack:
            if len(stack) > MAX_DEPTH:
                raise HostileXml("nested too deeply")
            if stack[-1][0] is None:
                stack[-1][0] = {}
        elif done or tag != "xml":
            raise HostileXml("root element is not <xml>")
        stack.append([None, [], tag])

    def end(_tag: str) -> None:
        children, text, tag = stack.pop()
        if stack:
            siblings = stack[-1][0]
            if tag not in siblings:
                siblings[tag] = children if children is not None else "".join(text)
        else:
            done.append(children or {})

    def data(chunk: str) -> None:
        stack[-1][1].append(chunk)

    parser = expat.ParserCreate()
    parser.buffer_text = True
    # a raising handler stops expat at once (nothing after the DOCTYPE is read or expanded)
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse  # type: ignore[assignment]  # raises: its int result is never used
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = data
    try:
        parser.Parse(body, True)
    except HostileXml:
        raise
    except (expat.ExpatError, ValueError, UnicodeError, IndexError) as exc:
        raise HostileXml(type(exc).__name__) from None
    if not done:
        raise HostileXml("no document")
    return done[0]


def to_message(fields: dict) -> BaseMessage:
    """A wechatpy message/event object, mirroring `wechatpy.parser.parse_message` on a dict."""
    msg_type = str(fields.get("MsgType") or "").lower()
    if msg_type != "event":
        return MESSAGE_TYPES.get(msg_type, UnknownMessage)(fields)
    event = str(fields.get("Event") or "").lower()
    key = fields.get("EventKey")
    if event == "subscribe" and isinstance(key, str) and key.startswith("qrscene_"):
        fields = {**fields, "Event": "subscribe_scan", "EventKey": key[len("qrscene_") :]}
        event = "subscribe_scan"
    return EVENT_TYPES.get(event, UnknownMessage)(fields)
