"""Shared fixtures: one real database server per run, a fresh database per test,
the fake WeChat API over real HTTP, and running app servers with an HTTP client."""

from __future__ import annotations

import json as jsonlib
import os
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from pymongo import MongoClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server.app import serve
from server.localdb import LocalDatabase
from server.wechat.fake import FakeWeChat
from settings import Settings

SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def mongodb_uri(tmp_path_factory):
    """MONGODB_URI if set, else one local mongod/FerretDB for the whole run."""
    uri = os.environ.get("MONGODB_URI")
    if uri:
        yield uri
        return
    cache = Settings.from_env({}).cache_path
    local = LocalDatabase(tmp_path_factory.mktemp("db"), cache)
    uri = local.start()
    yield uri
    local.stop()


@pytest.fixture
def db_name(mongodb_uri):
    """A fresh database name, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    client = MongoClient(mongodb_uri)
    client.drop_database(name)
    client.close()


@pytest.fixture
async def fake_wechat():
    """The fake WeChat API server on loopback."""
    fake = await FakeWeChat().start()
    yield fake
    await fake.stop()


@pytest.fixture
def settings(mongodb_uri, db_name, fake_wechat, tmp_path):
    """Settings for one test: its own database, the fake WeChat, a temp DATA_DIR."""
    return Settings.from_env(
        {},
        environment="test",
        mongodb_uri=mongodb_uri,
        mongodb_db=db_name,
        wechat_api_base=fake_wechat.url,
        data_dir=str(tmp_path / "data"),
        demo_staff=False,
        port=0,
    )


@pytest.fixture
async def make_server(settings):
    """Factory: start an app server (several may share one database), stopped after the test."""
    started = []

    async def _make(background: bool = False, **overrides):
        running = await serve(settings.replace(**overrides) if overrides else settings, port=0, background=background)
        started.append(running)
        return running

    yield _make
    for running in reversed(started):
        await running.stop()


@pytest.fixture
async def server(make_server):
    """One running app server without background tasks."""
    return await make_server()


@dataclass
class Response:
    """A finished HTTP response."""

    status: int
    headers: dict
    body: bytes

    @property
    def json(self):
        return jsonlib.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    @property
    def error_code(self) -> str | None:
        try:
            return self.json["error"]["code"]
        except (ValueError, KeyError, TypeError):
            return None


class Http:
    """A small real HTTP client bound to one server's base URL (keeps cookies)."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.token: str | None = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        json=None,
        data=None,
        headers: dict | None = None,
        token: str | None = None,
        raw: bytes | None = None,
    ) -> Response:
        """Send a request; `json` is serialised, `raw` is sent as is, `data` may be a FormData."""
        hdrs = dict(headers or {})
        tok = token if token is not None else self.token
        if tok:
            hdrs.setdefault("Authorization", f"Bearer {tok}")
        kwargs = {}
        if json is not None:
            kwargs["data"] = jsonlib.dumps(json, ensure_ascii=False).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif raw is not None:
            kwargs["data"] = raw
        elif data is not None:
            kwargs["data"] = data
        async with self.session.request(
            method, self.base_url + path, headers=hdrs, allow_redirects=False, **kwargs
        ) as resp:
            return Response(resp.status, dict(resp.headers), await resp.read())

    async def get(self, path: str, **kw) -> Response:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, **kw) -> Response:
        return await self.request("POST", path, **kw)

    async def patch(self, path: str, **kw) -> Response:
        return await self.request("PATCH", path, **kw)

    async def close(self) -> None:
        await self.session.close()


@pytest.fixture
async def http_factory():
    """Factory of HTTP clients, closed after the test."""
    clients = []

    def _make(running) -> Http:
        client = Http(running.url if hasattr(running, "url") else running)
        clients.append(client)
        return client

    yield _make
    for client in clients:
        await client.close()


@pytest.fixture
async def http(server, http_factory) -> Http:
    """An HTTP client for the default server."""
    return http_factory(server)
