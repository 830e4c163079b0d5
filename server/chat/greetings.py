"""Greetings and thanks in the chat ("你好", "在吗", "谢谢", "好的收到"): answered with a friendly
line and the menu, never sent to the FAQ (where they would be a miss). A greeting in front of a
question ("你好，请问怎么调转") is taken off and the question routed as usual."""

from __future__ import annotations

from dataclasses import dataclass

from faq.normalize import normalize

GREETING = "greeting"
THANKS = "thanks"

_GREETINGS = (
    "你好",
    "您好",
    "你们好",
    "大家好",
    "老师好",
    "哈喽",
    "哈罗",
    "嗨",
    "hello",
    "hi",
    "hey",
    "在吗",
    "在么",
    "在嘛",
    "在不在",
    "有人吗",
    "有人在吗",
    "有没有人",
    "早上好",
    "上午好",
    "中午好",
    "下午好",
    "晚上好",
    "早安",
    "早",
    "晚安",
    "请问",
    "打扰了",
    "打扰一下",
    "老师",
    "客服",
    "亲",
)
_THANKS = (
    "谢谢",
    "谢了",
    "多谢",
    "感谢",
    "非常感谢",
    "十分感谢",
    "太感谢了",
    "thank you",
    "thankyou",
    "thanks",
    "thx",
    "辛苦了",
    "辛苦",
    "好的",
    "好滴",
    "好嘞",
    "好",
    "行",
    "ok",
    "okay",
    "嗯嗯",
    "嗯",
    "收到",
    "明白了",
    "明白",
    "知道了",
    "懂了",
    "了解了",
    "了解",
    "清楚了",
    "再见",
    "拜拜",
    "bye",
    "没问题了",
    "没事了",
    "解决了",
)
# particles and fillers that may sit between or after the words above
_FILLERS = (
    "啊",
    "呀",
    "哦",
    "噢",
    "喔",
    "呢",
    "吧",
    "啦",
    "哈",
    "嘿",
    "哟",
    "呐",
    "的",
    "你",
    "您",
    "们",
    "了",
    "很",
    "大",
    "各位",
    "~",
)
_WORDS = sorted({*_GREETINGS, *_THANKS, *_FILLERS}, key=len, reverse=True)
_THANKS_SET = frozenset(_THANKS)
_FILLER_SET = frozenset(_FILLERS)
MAX_GREETING_CHARS = 40  # longer messages are questions, whatever they start with


@dataclass(frozen=True)
class Courtesy:
    """What the courtesy words of a message say: `kind` (greeting/thanks) when the message is only
    that, else `rest`: the message with a leading greeting taken off ("" when nothing was taken)."""

    kind: str | None
    rest: str


def _strip(compact: str) -> tuple[list[str], str]:
    """The courtesy words at the start of `compact` (no spaces), and what follows them."""
    found: list[str] = []
    while compact:
        word = next((w for w in _WORDS if compact.startswith(w)), None)
        if word is None:
            break
        found.append(word)
        compact = compact[len(word) :]
    return found, compact


def courtesy(text: str) -> Courtesy:
    """Classify a chat message as a greeting, thanks, or neither (with a leading greeting removed)."""
    if len(text) > MAX_GREETING_CHARS:
        return Courtesy(None, "")
    words = normalize(text).split(" ")
    compact = "".join(words)
    if not compact:  # only emoji or punctuation ("👍", "？？")
        return Courtesy(GREETING if text.strip() else None, "")
    found, rest = _strip(compact)
    meaningful = [w for w in found if w not in _FILLER_SET]
    if not meaningful:
        return Courtesy(None, "")
    if not rest:
        return Courtesy(THANKS if any(w in _THANKS_SET for w in meaningful) else GREETING, "")
    if any(w in _THANKS_SET for w in meaningful):  # "好的，那调转呢": not a leading greeting
        return Courtesy(None, "")
    return Courtesy(None, _rest_of(text, len(compact) - len(rest)))


def _rest_of(text: str, taken: int) -> str:
    """The original message after its first `taken` kept characters (so the question keeps its
    own punctuation and spelling for the FAQ)."""
    count = 0
    for i, ch in enumerate(text):
        if count >= taken and normalize(ch):
            return text[i:].strip(" ，,。.!！?？~～、")
        if normalize(ch):
            count += len(normalize(ch).replace(" ", ""))
    return ""
