"""`python -m faq match` through a real subprocess with stdin/stdout pipes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def _run(repo: Path, stdin: str) -> list[dict]:
    """Run the CLI and parse its JSON-lines output."""
    proc = subprocess.run(
        [sys.executable, "-m", "faq", "match"],
        input=stdin.encode("utf-8"),
        capture_output=True,
        cwd=repo,
        timeout=60,
        check=True,
    )
    return [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()]


def test_cli_matches_each_line(repo_root: Path) -> None:
    lines = [{"q": "忘记密码怎么办"}, {"q": "跨省調轉怎麼弄"}, {"q": "今天天气怎么样"}]
    out = _run(repo_root, "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines))
    assert [o["q"] for o in out] == [x["q"] for x in lines]
    assert [o["topic"] for o in out] == ["password_reset", "transfer", None]
    assert all(isinstance(o["score"], float) for o in out)


def test_cli_output_is_not_ascii_escaped(repo_root: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "faq", "match"],
        input='{"q": "照片有什么要求"}\n'.encode(),
        capture_output=True,
        cwd=repo_root,
        timeout=60,
        check=True,
    )
    assert "照片有什么要求" in proc.stdout.decode("utf-8")


def test_cli_survives_malformed_lines(repo_root: Path) -> None:
    stdin = (
        "\n".join(
            [
                "not json",
                '{"x": 1}',
                "[1, 2]",
                '{"q": 5}',
                "",
                '{"q": "生辟字"}',
                '{"q": "unterminated',
            ]
        )
        + "\n"
    )
    out = _run(repo_root, stdin)
    assert len(out) == 7
    assert [o["topic"] for o in out] == [None, None, None, None, None, "rare_characters", None]
