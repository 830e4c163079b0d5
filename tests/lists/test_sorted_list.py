"""SortedList against a dict model, through the real database, with small chunks to force splits."""

from __future__ import annotations

import random

import pytest

from server.lists import SortedList, _Stale, counts, drop
from tests.lists.conftest import assert_id_only, stored_documents


def keys_of(entries):
    return [k for k, _ in entries]


async def check_against(lst: SortedList, model: dict, rng: random.Random) -> None:
    """Count, full scan both ways, random pages, gets and ranges agree with the model."""
    expect = sorted(model.items())
    assert await lst.count() == len(model)
    assert await lst.page(0, len(model) + 5) == expect
    assert await lst.page(0, len(model) + 5, reverse=True) == expect[::-1]
    for _ in range(5):
        offset, limit = rng.randrange(0, len(model) + 3), rng.randrange(0, 30)
        assert await lst.page(offset, limit) == expect[offset : offset + limit]
        assert await lst.page(offset, limit, reverse=True) == expect[::-1][offset : offset + limit]
    for key in rng.sample(sorted(model) or ["x"], min(5, len(model) or 1)) + ["zz-absent"]:
        assert await lst.get(key) == model.get(key)
    for _ in range(3):
        prefix = rng.choice("abcdefg") + rng.choice(["", "1", "2"])
        hi = prefix + "\uffff"
        limit = rng.randrange(1, 40)
        want = [e for e in expect if prefix <= e[0] < hi][:limit]
        assert await lst.range(prefix, hi, limit) == want


async def test_random_operations_match_a_dict_model(env):
    rng = random.Random(7)
    lst = SortedList(env.db, env.atomic, "model", chunk_size=6)
    model: dict[str, dict] = {}
    keys = [f"{a}{b}{n:03d}" for a in "abcdefg" for b in "12" for n in range(0, 60, 3)]
    for step in range(1200):
        roll = rng.random()
        if roll < 0.55:
            k = rng.choice(keys)
            row = {"v": step, "k": k}
            await lst.put(k, row)
            model[k] = row
        elif roll < 0.85:
            k = rng.choice(keys)
            await lst.remove(k)
            model.pop(k, None)
        else:
            puts = [(k, {"v": step, "batch": True}) for k in rng.sample(keys, rng.randrange(0, 16))]
            removes = rng.sample(keys, rng.randrange(0, 8))
            await lst.apply(puts, removes)
            model.update(puts)
            for k in removes:
                model.pop(k, None)
        if step % 250 == 249:
            await check_against(lst, model, rng)
    await check_against(lst, model, rng)
    head = await env.db["lists"].find_one({"_id": "model"})
    chunks = (await lst._head()).chunks
    assert len(chunks) == head["chunks"] > 10  # splits happened
    assert head["total"] == len(model) == sum(ch["n"] for ch in chunks)
    assert await lst.check_and_repair() == 0  # nothing to fix after clean writes


async def test_empty_and_unknown_lists(env):
    lst = SortedList(env.db, env.atomic, "nothing", chunk_size=4)
    assert await lst.count() == 0
    assert await lst.page(0, 10) == [] and await lst.page(0, 10, reverse=True) == []
    assert await lst.get("a") is None
    assert await lst.range("a", "b", 5) == []
    await lst.remove("a")  # idempotent, writes nothing
    assert await stored_documents(env.db) == 0
    with pytest.raises(ValueError):
        SortedList(env.db, env.atomic, "bad#name")
    with pytest.raises(ValueError):
        await lst.put(3, {})  # type: ignore[arg-type]


async def test_emptying_and_refilling_drops_chunks(env):
    lst = SortedList(env.db, env.atomic, "drain", chunk_size=4)
    keys = [f"k{i:03d}" for i in range(60)]
    await lst.apply([(k, {"i": i}) for i, k in enumerate(keys)], [])
    chunks = (await lst._head()).chunks
    assert len(chunks) >= 15 and max(ch["n"] for ch in chunks) <= 4
    for k in keys[::-1][:40] + keys[:10]:
        await lst.remove(k)
    left = keys[10:20]
    assert keys_of(await lst.page(0, 100)) == left
    chunks = (await lst._head()).chunks
    assert chunks[0]["lo"] == ""
    assert all(ch["n"] > 0 for ch in chunks[:-1])  # only the last may be empty
    await lst.apply([], left)
    assert await lst.count() == 0 and await lst.page(0, 5) == []
    await lst.apply([("a", {}), ("zzz", {}), ("k050", {})], [])
    assert keys_of(await lst.page(0, 10)) == ["a", "k050", "zzz"]
    assert keys_of(await lst.page(0, 10, reverse=True)) == ["zzz", "k050", "a"]


async def test_every_query_names_one_document_by_id(env):
    lst = SortedList(env.db, env.atomic, "ids", chunk_size=64)
    await lst.apply([(f"k{i:04d}", {"i": i}) for i in range(300)], [])
    for i in range(0, 300, 7):
        await lst.put(f"k{i:04d}x", {"new": i})
        await lst.remove(f"k{i + 1:04d}")
    env.recorder.reset()
    await lst.page(100, 20)
    cmds = env.recorder.reset()
    assert_id_only(cmds)
    assert len(cmds) <= 3  # head plus the one or two chunks holding the page
    await lst.page(5, 20, reverse=True)
    await lst.range("k01", "k01\uffff", 10)
    await lst.get("k0100")
    await lst.count()
    await lst.put("k0100", {"again": 1})
    await lst.apply([(f"m{i}", {}) for i in range(30)], ["k0002"])
    await lst.check_and_repair()
    assert_id_only(env.recorder.reset())
    await drop(env.db, "ids")
    assert_id_only(env.recorder.reset())
    assert await lst.count() == 0


async def test_a_reader_with_an_outdated_head_notices(env):
    lst = SortedList(env.db, env.atomic, "stale", chunk_size=4)
    await lst.apply([(f"k{i}", {}) for i in range(4)], [])
    old = await lst._head()
    await lst.put("k5", {})  # splits chunk 0, which is then trimmed under a newer head
    with pytest.raises(_Stale):
        await lst._read_chunks(old, [0], strict=True)
    assert keys_of(await lst.page(0, 10)) == ["k0", "k1", "k2", "k3", "k5"]


async def test_counts_reads_heads(env):
    a, b = SortedList(env.db, env.atomic, "a"), SortedList(env.db, env.atomic, "b")
    await a.apply([("x", {}), ("y", {})], [])
    assert await counts([a, b]) == [2, 0]


async def test_rows_keep_their_bson_types(env):
    import datetime as dt

    from bson import ObjectId

    lst = SortedList(env.db, env.atomic, "types")
    row = {
        "id": ObjectId(),
        "at": dt.datetime(2024, 5, 1, 8, 0, 0, 123000, tzinfo=dt.UTC),
        "n": 2**40,
        "f": 1.5,
        "none": None,
        "tags": ["a"],
        "nested": {"x": [1, {"y": "z"}]},
        "name": "张三",
    }
    await lst.put("k", row)
    assert await lst.get("k") == row
    assert (await lst.get("k"))["at"].tzinfo is not None  # the collection's codec options (tz_aware) apply
