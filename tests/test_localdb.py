"""The local database: FerretDB's `_id` lookups, updates and deletes use its `_id` index (the patch)."""

from __future__ import annotations

import pytest
from bson import ObjectId

from server.localdb import SQLITE_ID_PATCH, ferretdb_binary


async def test_id_lookups_are_index_searches_on_ferretdb(server):
    s = server.services
    if not s.ferretdb:
        pytest.skip("MongoDB answers _id lookups from its index anyway")
    docs = [{"_id": ObjectId(), "n": i} for i in range(50)] + [{"_id": f"k{i}", "n": i} for i in range(50)]
    await s.db["probe"].insert_many(docs)
    for key in (docs[10]["_id"], "k49"):
        plan = await s.db.command("explain", {"find": "probe", "filter": {"_id": key}})
        steps = " ".join(plan["queryPlanner"]["Plan"])
        assert plan["filterPushdown"] is True and "USING INDEX" in steps and "SCAN" not in steps, plan
        assert (await s.db["probe"].find_one({"_id": key}))["_id"] == key  # and it still finds the document
    await s.db["probe"].update_one({"_id": "k3"}, {"$set": {"n": -3}})
    await s.db["probe"].delete_one({"_id": "k4"})
    assert (await s.db["probe"].find_one({"_id": "k3"}))["n"] == -3
    assert await s.db["probe"].find_one({"_id": "k4"}) is None
    assert await s.db["probe"].count_documents({}) == 99


def test_the_patched_binary_has_its_own_cache_name(tmp_path):
    path, old, new = SQLITE_ID_PATCH
    assert old != new and "_id" in new and path.endswith("metadata.go")
    assert ferretdb_binary(tmp_path).parent.name.endswith("idindex1")  # an unpatched cached build is not reused
