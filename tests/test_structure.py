"""The house rules that hold whatever the layout: auth by class, one-way arrows, no import cycles."""

from __future__ import annotations

import ast
import types
from pathlib import Path

import pytest

from server.app import make_app

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("server", "faq", "handlers", "miniprogram_api")


class _Services:
    def __init__(self, settings):
        self.settings = settings


def _module(*routes):
    return types.SimpleNamespace(__name__="tests.fake_routes", default_handlers=list(routes))


def test_a_handler_that_only_names_its_authentication_is_refused(settings):
    from handlers.base import ApiHandler, PublicHandler
    from miniprogram_api.base import UserHandler

    class OnlyALabel(ApiHandler):
        auth = "user"  # says "user" but derives from no base that checks a token

    class Relabelled(UserHandler):
        auth = "public"  # a subclass may not switch its base's check off

    class Both(UserHandler, PublicHandler):
        pass

    for handler in (OnlyALabel, Relabelled, Both):
        with pytest.raises(RuntimeError, match="authentication base"):
            make_app(_Services(settings), [_module((r"/x", handler))])

    class Fine(UserHandler):
        pass

    make_app(_Services(settings), [_module((r"/x", Fine))])


def _imports(path: Path) -> set[str]:
    """Top-level project modules a file imports (at any depth of its code)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in found if m.split(".")[0] in PACKAGES + ("settings",)}


def _graph() -> dict[str, set[str]]:
    files = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
        for pkg in PACKAGES
        for p in (ROOT / pkg).rglob("*.py")
    }
    return {name: {m for m in _imports(path) if m in files} for name, path in files.items()}


def test_arrows_point_one_way():
    graph = _graph()
    for name, deps in graph.items():
        if name.startswith("server"):
            assert not {d for d in deps if d.startswith(("handlers", "miniprogram_api"))} or name == "server.app", name
        if name.startswith("faq"):
            assert not {d for d in deps if d.startswith("server")}, name
    faq_sources = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "faq").rglob("*.py"))
    assert "import tornado" not in faq_sources and "from tornado" not in faq_sources


def test_no_import_cycles():
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert cycles == []
