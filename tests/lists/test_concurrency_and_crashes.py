"""Concurrent writers lose nothing; a crash between the writes of a split loses nothing."""
from __future__ import annotations

import asyncio
import random

import pytest

from server.atomic import Atomic
from server.lists import SortedList


async def test_twenty_concurrent_writers_lose_nothing(env):
    processes = [Atomic(env.db, serialize=env.atomic.serialize) for _ in range(4)]  # 4 processes x 5 writers
    writers = [SortedList(env.db, processes[w % 4], "shared", chunk_size=8) for w in range(20)]
    await writers[0].apply([(f"w00-{i:03d}", {"seed": True}) for i in range(30)], [])

    async def work(w: int, lst: SortedList) -> set[str]:
        kept = set()
        for i in range(10):
            key = f"w{w:02d}-{i:03d}"
            await lst.put(key, {"w": w, "i": i})
            kept.add(key)
            if i % 5 == 4:  # remove one of its own earlier keys
                await lst.remove(f"w{w:02d}-{i - 2:03d}")
                kept.discard(f"w{w:02d}-{i - 2:03d}")
        return kept

    readers_done = asyncio.Event()

    async def read_while_writing() -> None:  # lock-free readers never see an entry twice or out of order
        while not readers_done.is_set():
            keys = [k for k, _ in await writers[0].page(0, 10_000)]
            assert keys == sorted(set(keys))
            await asyncio.sleep(0.05)  # a steady reader, not one that saturates the database

    reader = asyncio.create_task(read_while_writing())
    results = await asyncio.gather(*(work(w, lst) for w, lst in enumerate(writers)))
    readers_done.set()
    await reader
    expected = set().union(*results) | {f"w00-{i:03d}" for i in range(30) if f"w00-{i:03d}" not in
                                        {f"w00-{j - 2:03d}" for j in range(10) if j % 5 == 4}}
    entries = await writers[0].page(0, 10_000)
    assert [k for k, _ in entries] == sorted(expected)
    assert await writers[0].count() == len(expected)
    assert await env.db["mutexes"].count_documents({}) == 0


class Crash(Exception):
    """The simulated death of the writing process."""


def crash_after(monkeypatch, lst: SortedList, writes: int) -> None:
    """Make the list's collection fail every write after the first `writes`."""
    coll = lst.coll
    done = {"n": 0}
    real_replace, real_delete = coll.replace_one, coll.delete_one

    async def guard(real, *args, **kwargs):
        if done["n"] >= writes:
            raise Crash()
        done["n"] += 1
        return await real(*args, **kwargs)

    monkeypatch.setattr(coll, "replace_one", lambda *a, **k: guard(real_replace, *a, **k))
    monkeypatch.setattr(coll, "delete_one", lambda *a, **k: guard(real_delete, *a, **k))


@pytest.mark.parametrize("writes", [0, 1, 2, 3])
async def test_a_crash_between_split_writes_keeps_every_entry_once(env, writes, monkeypatch):
    name = f"crash{writes}"
    clean = SortedList(env.db, env.atomic, name, chunk_size=8)
    model = {f"k{i:02d}": {"i": i} for i in range(0, 16, 2)}
    await clean.apply(list(model.items()), [])  # exactly one full chunk
    doomed = SortedList(env.db, env.atomic, name, chunk_size=8)
    crash_after(monkeypatch, doomed, writes)
    with pytest.raises(Crash):
        await doomed.put("k05", {"i": 5})  # splits: chunk in full, new chunk, head, trim
    await env.db["mutexes"].delete_many({})  # the crashed process's mutex would expire
    entries = await clean.page(0, 100)
    keys = [k for k, _ in entries]
    assert keys == sorted(set(keys))  # every entry exactly once
    assert set(model) <= set(keys) <= set(model) | {"k05"}
    if writes >= 1:  # the first write is the commit point of the put
        model["k05"] = {"i": 5}
    assert dict(entries) == model
    assert await clean.count() in (len(model) - 1, len(model))  # a head not yet rewritten may lag by one
    await clean.check_and_repair()
    assert await clean.count() == len(model)
    # Writers carry on over the leftovers.
    for i in range(1, 16, 2):
        await clean.put(f"k{i:02d}", {"i": i})
        model[f"k{i:02d}"] = {"i": i}
    await clean.remove("k00")
    model.pop("k00")
    assert await clean.page(0, 100) == sorted(model.items())
    assert await clean.page(0, 100, reverse=True) == sorted(model.items(), reverse=True)
    assert await clean.check_and_repair() == 0
