"""Flows between districts for staff: counts per pair and state, pending ages, in the stats and
as the export's second sheet; a district reviewer sees only the flows touching their districts."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from server.staff import StaffAccounts
from tests.admin.conftest import PASSWORD
from tests.transfers.conftest import APPS, A, B, apply, reviewer

C = "350206"  # 湖里区


async def test_flows_per_pair_in_stats_and_export(server, approved_person, staff_client):
    await server.services.get(StaffAccounts).ensure("t-city", "city_admin", [], PASSWORD)
    city = await staff_client(server, "t-city")
    rev_a = await reviewer(server, staff_client, "f-rev-a", [A])
    rev_c = await reviewer(server, staff_client, "f-rev-c", [C])
    movers = [(await approved_person(f"flow{i}"))[0] for i in range(3)]
    ids = [(await apply(p, "within", B)).json["id"] for p in movers[:2]]
    await apply(movers[2], "out", None, to_region_name="上海市黄浦区")
    v = (await rev_a.get(f"{APPS}/{ids[0]}")).json["version"]
    assert (await rev_a.decide(ids[0], "approve", v)).status == 200

    flows = (await city.get("/admin/api/stats")).json["transfer_flows"]
    by = {(f["kind"], f["from_region_name"], f["to_region_name"]): f for f in flows}
    within = by[("transfer_within", "思明区", "海沧区")]
    assert within["total"] == 2 and within["pending"] == 2
    assert within["counts"]["submitted"] == 1 and within["counts"]["released"] == 1
    assert within["oldest_pending_days"] is not None and within["oldest_pending_days"] >= 0
    out = by[("transfer_out", "思明区", "区外")]
    assert out["total"] == 1 and out["counts"]["submitted"] == 1
    assert (await rev_c.get("/admin/api/stats")).json["transfer_flows"] == []  # none touches 湖里区

    r = await city.get("/admin/api/export.xlsx")
    assert r.status == 200
    sheet = load_workbook(io.BytesIO(r.body))["调转流向"]
    rows = [tuple(c.value for c in row) for row in sheet.iter_rows()]
    assert rows[0][:3] == ("调转类型", "调出地", "调入地")
    assert any(row[:4] == ("区内调转", "思明区", "海沧区", 2) for row in rows[1:]), rows
