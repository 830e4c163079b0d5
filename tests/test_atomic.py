"""Conditional updates have exactly one winner, on MongoDB and on FerretDB v1 alike."""

from __future__ import annotations

import asyncio


async def test_concurrent_conditional_updates_have_one_winner(make_server):
    a, b = await make_server(), await make_server()
    coll_a, coll_b = a.services.db["things"], b.services.db["things"]
    for trial in range(20):
        await coll_a.insert_one({"_id": trial, "version": 1, "status": "submitted"})
        results = await asyncio.gather(
            *[
                s.services.atomic.update(
                    c, {"_id": trial, "version": 1}, {"$set": {"version": 2, "by": i}, "$push": {"log": i}}
                )
                for i, (s, c) in enumerate([(a, coll_a), (b, coll_b)] * 3)
            ]
        )
        winners = [r for r in results if r is not None]
        assert len(winners) == 1
        doc = await coll_a.find_one({"_id": trial})
        assert doc["version"] == 2 and len(doc["log"]) == 1
    assert await a.services.db["mutexes"].count_documents({}) == 0
