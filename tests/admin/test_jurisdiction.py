"""A reviewer reaches only their districts; everything else answers 404 as if absent."""

from __future__ import annotations

from bson import ObjectId

from tests.admin.conftest import A, B


async def test_reviewer_gets_404_on_another_districts_record_file_decision_and_audit(server, two_districts):
    a, b, rec_b = two_districts["a"], two_districts["b"], two_districts["rec_b"]
    rid = str(rec_b["_id"])
    missing = str(ObjectId())
    # B's own reviewer decides, so there is an audit entry for B.
    assert (await b.decide(rid, "reject", rec_b["version"], "照片背景不是白色")).status == 200
    for path in (
        f"/admin/api/records/{rid}",
        f"/admin/api/records/{rid}/files/photo",
        f"/admin/api/records/{rid}/files/diploma",
        f"/admin/api/records/{rid}/audit",
    ):
        theirs, absent = await a.get(path), await a.get(path.replace(rid, missing))
        assert theirs.status == absent.status == 404, path
        assert theirs.json == absent.json, path  # indistinguishable from a record that does not exist
        assert (await b.get(path)).status == 200, path
    before = await server.services.db["applications"].find_one({"_id": rec_b["_id"]})
    r = await a.decide(rid, "approve", before["version"])
    assert r.status == 404 and r.error_code == "record_not_found"
    after = await server.services.db["applications"].find_one({"_id": rec_b["_id"]})
    assert after == before
    audit_a = await a.get("/admin/api/audit")
    assert audit_a.status == 200 and audit_a.json["items"] == [] and audit_a.json["total"] == 0
    assert (await a.get(f"/admin/api/audit?record_id={rid}")).status == 404
    assert [e["record_id"] for e in (await b.get("/admin/api/audit")).json["items"]] == [rid]


async def test_lists_stats_samples_and_exports_stay_within_the_district(server, two_districts):
    a, city = two_districts["a"], two_districts["city"]
    rec_a, rec_b = two_districts["rec_a"], two_districts["rec_b"]
    ids = [i["id"] for i in (await a.get("/admin/api/records")).json["items"]]
    assert ids == [str(rec_a["_id"])]
    assert (await a.get(f"/admin/api/records?region={B}")).json["items"] == []
    assert (await a.get(f"/admin/api/records?q={rec_b['profile']['id_number']}")).json["items"] == []
    stats = (await a.get("/admin/api/stats")).json
    assert [d["region_code"] for d in stats["districts"]] == [A] and stats["totals"]["submitted"] == 1
    city_ids = {i["id"] for i in (await city.get("/admin/api/records")).json["items"]}
    assert city_ids == {str(rec_a["_id"]), str(rec_b["_id"])}
    city_stats = (await city.get("/admin/api/stats")).json
    assert {d["region_code"] for d in city_stats["districts"]} >= {A, B}
    assert city_stats["totals"]["submitted"] == 2
    assert (await city.get(f"/admin/api/records/{rec_b['_id']}")).status == 200


async def test_a_reviewer_of_two_districts_sees_both(server, staff_client, two_districts):
    from tests.admin.conftest import add_staff

    await add_staff(server.services, "rev-ab", regions=[A, B])
    ab = await staff_client(server, "rev-ab")
    assert (await ab.get("/admin/api/records")).json["total"] == 2
    assert (await ab.get(f"/admin/api/records/{two_districts['rec_b']['_id']}")).status == 200
