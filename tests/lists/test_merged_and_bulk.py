"""merged_page across several lists, and bulk_load of a large list, against Python models."""

from __future__ import annotations

import random

from server.lists import SortedList, bulk_load, counts, drop, merged_page
from tests.lists.conftest import assert_id_only, stored_documents


async def test_merged_page_matches_a_merged_model(env):
    rng = random.Random(3)
    lists = [SortedList(env.db, env.atomic, f"district-{d}", chunk_size=8) for d in range(3)]
    models: list[dict[str, dict]] = [{}, {}, {}]
    for d, (lst, model) in enumerate(zip(lists, models, strict=True)):
        size = [150, 40, 0][d]  # one list stays empty
        keys = rng.sample([f"{rng.choice('abcxyz')}{i:04d}" for i in range(400)], size)
        if d == 1:
            keys += list(models[0])[:10]  # the same keys in two lists: both show, the earlier list first
        for k in keys:
            model[k] = {"d": d, "k": k}
        await lst.apply(list(model.items()), [])
    merged = sorted(((k, d, row) for d, model in enumerate(models) for k, row in model.items()))
    forward = [(k, row) for k, _, row in merged]
    backward = [(k, row) for k, _, row in reversed(merged)]
    total = len(forward)
    assert sum(await counts(lists)) == total
    for offset in [0, 1, 7, 50, 99, 100, total - 5, total - 1, total, total + 10] + rng.sample(range(total), 15):
        for limit in (0, 1, 20):
            assert await merged_page(lists, offset, limit) == forward[offset : offset + limit], (offset, limit)
            assert await merged_page(lists, offset, limit, reverse=True) == backward[offset : offset + limit]
    assert await merged_page(lists, 0, total + 1) == forward
    assert await merged_page(lists, 0, total + 1, reverse=True) == backward
    assert await merged_page([], 0, 10) == []


async def test_deep_merged_pages_skip_chunks_by_their_counts(env):
    lists = [SortedList(env.db, env.atomic, f"deep-{d}", chunk_size=16) for d in range(4)]
    for d, lst in enumerate(lists):
        await bulk_load(env.db, lst.name, ((f"k{i:05d}-{d}", {"d": d}) for i in range(d, 2000, 3)), chunk_size=16)
    everything = sorted((k, {"d": d}) for d in range(4) for k in (f"k{i:05d}-{d}" for i in range(d, 2000, 3)))
    env.recorder.reset()
    assert await merged_page(lists, 1500, 10) == everything[1500:1510]
    cmds = env.recorder.reset()
    assert_id_only(cmds)
    assert len(cmds) <= 4 + 4 * 3  # heads, then a few chunks per list, not the ~1500 entries ahead
    assert await merged_page(lists, 1500, 10, reverse=True) == everything[::-1][1500:1510]
    assert len(env.recorder.reset()) <= 16


async def test_bulk_load_then_pages(env):
    entries = [(f"name-{i:06d}", {"i": i, "district": i % 7}) for i in range(20_000)]
    shuffled = entries[:]
    random.Random(1).shuffle(shuffled)
    assert await bulk_load(env.db, "big", shuffled, atomic=env.atomic) == 20_000
    lst = SortedList(env.db, env.atomic, "big")
    assert await lst.count() == 20_000
    env.recorder.reset()
    assert await lst.page(0, 20) == entries[:20]
    assert await lst.page(12_345, 20) == entries[12_345:12_365]
    assert await lst.page(19_990, 20) == entries[19_990:]
    assert await lst.page(100, 25, reverse=True) == entries[::-1][100:125]
    assert await lst.range("name-0123", "name-0123\uffff", 200) == entries[12_300:12_400]
    assert await lst.get("name-004321") == {"i": 4321, "district": 4321 % 7}
    assert_id_only(env.recorder.reset())
    await lst.put("name-004321", {"changed": True})
    await lst.put("name-004321a", {"new": True})
    await lst.remove("name-000000")
    assert await lst.count() == 20_000
    assert (await lst.page(4319, 3))[1:] == [("name-004321", {"changed": True}), ("name-004321a", {"new": True})]
    # A rebuild replaces everything (old chunks deleted), and fills chunks to three quarters.
    assert await bulk_load(env.db, "big", entries[:1000]) == 1000
    assert await lst.page(0, 2000) == entries[:1000]
    chunks = (await lst._head()).chunks
    assert {ch["n"] for ch in chunks[:-1]} == {384}
    assert await stored_documents(env.db) == 1 + len(chunks)
    await drop(env.db, "big")
    assert await stored_documents(env.db) == 0
    assert await bulk_load(env.db, "empty", []) == 0
    assert await SortedList(env.db, env.atomic, "empty").page(0, 5) == []
