"""Rebuilding the read models from the sources gives the lists and counts the live sync kept."""

from __future__ import annotations

from server.lifecycle.rebuild import rebuild_read_models
from tests.admin.conftest import A, B, add_staff, insert_record


async def _views(city) -> dict:
    paths = [
        "/admin/api/records",
        "/admin/api/records?status=submitted",
        f"/admin/api/records?region={B}",
        "/admin/api/records?q=王",
        "/admin/api/applications?kind=change",
        "/admin/api/audit",
        "/admin/api/stats",
    ]
    return {p: (await city.get(p)).json for p in paths}


async def test_a_rebuild_from_the_sources_gives_what_the_live_sync_kept(server, staff_client):
    s = server.services
    await add_staff(s, "city", role="city_admin", regions=[])
    city = await staff_client(server, "city")
    for status, region, name in (
        ("submitted", A, "王小明"),
        ("approved", A, "刘䶮"),
        ("rejected", B, "王五"),
        ("draft", B, "赵六"),
        ("submitted", B, "王𠀋"),
    ):
        await insert_record(s, status=status, region=region, name=name, with_files=False)
    before = await _views(city)
    assert before["/admin/api/records"]["total"] == 5 and before["/admin/api/records?q=王"]["total"] == 3
    for name in await s.db.list_collection_names():
        if name == "lists" or name.startswith("lists_chunks"):
            await s.db[name].delete_many({})
    await s.db["daily_submissions"].delete_many({})
    assert (await city.get("/admin/api/records")).json["total"] == 0  # the read models are gone
    result = await rebuild_read_models(s)
    assert result["applications"] == 5 and result["audit_entries"] == 2
    assert await _views(city) == before
