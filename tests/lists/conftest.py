"""Fixtures for the sorted-list tests: a client on the test database that records every command."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pymongo import monitoring
from pymongo.asynchronous.database import AsyncDatabase

from server.atomic import Atomic
from server.db import connect, is_ferretdb
from server.lists import COLLECTION


class Recorder(monitoring.CommandListener):
    """Keeps the commands sent to the list collections (heads and chunks)."""

    def __init__(self) -> None:
        self.commands: list[dict] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if str(event.command.get(event.command_name)).startswith(COLLECTION):
            self.commands.append(dict(event.command))

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass

    def reset(self) -> list[dict]:
        """The commands since the last reset."""
        seen, self.commands = self.commands, []
        return seen


@dataclass
class Env:
    """A database, an Atomic on it and the command recorder."""

    db: AsyncDatabase
    atomic: Atomic
    recorder: Recorder


@pytest.fixture
async def env(mongodb_uri, db_name):
    """Env on the test's fresh database (the client is closed after the test)."""
    recorder = Recorder()
    client = connect(mongodb_uri, event_listeners=[recorder])
    db = client[db_name]
    yield Env(db, Atomic(db, serialize=await is_ferretdb(db)), recorder)
    await client.close()


async def stored_documents(db: AsyncDatabase) -> int:
    """Documents in all list collections."""
    names = [n for n in await db.list_collection_names() if n.startswith(COLLECTION)]
    return sum([await db[n].count_documents({}) for n in names])


def filters_of(commands: list[dict]) -> list[dict]:
    """Every filter the commands carried (find, findAndModify, update, delete)."""
    out = []
    for cmd in commands:
        if "find" in cmd:
            out.append(cmd.get("filter", {}))
        elif "findAndModify" in cmd:
            out.append(cmd.get("query", {}))
        for u in cmd.get("updates", []):
            out.append(u["q"])
        for d in cmd.get("deletes", []):
            out.append(d["q"])
    return out


def assert_id_only(commands: list[dict]) -> None:
    """Every query named one document by a string `_id`, with no sort or skip."""
    assert commands, "no commands recorded"
    for cmd in commands:
        assert not cmd.get("sort") and not cmd.get("skip"), cmd
        assert cmd.get("limit", 1) in (0, 1, -1), cmd
    for f in filters_of(commands):
        assert list(f) == ["_id"] and isinstance(f["_id"], str), f
