"""GET /api/v1/me/messages and POST /api/v1/me/messages/{id}/read over the outbox's notices."""

from __future__ import annotations

import datetime as dt
import uuid

from server.db import utcnow


def notice(title: str, at: dt.datetime, result: str = "审核未通过", reason: str = "照片不合格") -> dict:
    """A notice in the shape of docs/contracts.md (what the decision code writes)."""
    nid = uuid.uuid4().hex
    return {
        "id": nid,
        "kind": "review_result",
        "title": title,
        "body": f"{title}。原因：{reason}",
        "data": {"result": result, "reason": reason, "name": "张三", "time": at},
        "created_at": at,
        "read_at": None,
        "delivery": {
            "state": "sent",
            "attempts": 1,
            "next_at": None,
            "lease_until": None,
            "last_error": None,
            "sent_at": at,
        },
    }


async def add_notices(server, openid: str, *notices: dict) -> None:
    """Notices in the outbox, as the migration leaves a record's earlier ones (`legacy_notices`)."""
    records = server.services.db["applications"]
    doc = await records.find_one({"openid": openid})
    for n in notices:
        await server.services.db["notices"].insert_one(
            {**n, "_id": n["id"], "openid": openid, "application_id": doc["_id"]}
        )
    assert await server.services.atomic.update(
        records, {"_id": doc["_id"]}, {"$push": {"legacy_notices": {"$each": [n["id"] for n in notices]}}}
    )


async def test_messages_newest_first_with_read_marks(server, as_user):
    c = await as_user("ma")
    assert (await c.get("/api/v1/me/messages")).json == {"messages": [], "unread": 0}
    now = utcnow()
    old, new = (
        notice("会计人员信息审核未通过", now - dt.timedelta(days=2)),
        notice("会计人员信息审核通过", now, "审核通过", ""),
    )
    await add_notices(server, c.openid, old, new)
    inbox = (await c.get("/api/v1/me/messages")).json
    assert [m["id"] for m in inbox["messages"]] == [new["id"], old["id"]]
    assert inbox["unread"] == 2
    first = inbox["messages"][0]
    assert first["title"] == "会计人员信息审核通过" and first["read"] is False and first["read_at"] is None
    assert first["data"]["result"] == "审核通过"
    assert "delivery" not in first
    assert (await c.get("/api/v1/me/record")).json["unread_messages"] == 2

    version = (await c.get("/api/v1/me/record")).json["version"]
    r = await c.post(f"/api/v1/me/messages/{old['id']}/read")
    assert r.status == 200 and r.json["read"] is True and r.json["read_at"]
    # A read mark must not invalidate the version a reviewer is deciding on.
    assert (await c.get("/api/v1/me/record")).json["version"] == version
    first_read = r.json["read_at"]
    again = await c.post(f"/api/v1/me/messages/{old['id']}/read")
    assert again.status == 200 and again.json["read_at"] == first_read  # idempotent, first time kept
    inbox = (await c.get("/api/v1/me/messages")).json
    assert inbox["unread"] == 1
    assert [m["read"] for m in inbox["messages"]] == [False, True]
    stored = {n["_id"]: n async for n in server.services.db["notices"].find({})}
    assert stored[old["id"]]["delivery"]["state"] == "sent"  # delivery state untouched
    assert stored[new["id"]]["read_at"] is None


async def test_unknown_and_other_peoples_messages_are_404(server, as_user):
    a, b = await as_user("mb"), await as_user("mc")
    mine = notice("会计人员信息审核通过", utcnow())
    await add_notices(server, a.openid, mine)
    r = await b.post(f"/api/v1/me/messages/{mine['id']}/read")
    assert r.status == 404 and r.error_code == "message_not_found"
    assert (await b.get("/api/v1/me/messages")).json["messages"] == []
    r = await a.post(f"/api/v1/me/messages/{uuid.uuid4().hex}/read")
    assert r.status == 404 and r.error_code == "message_not_found"
    assert [n["_id"] async for n in server.services.db["notices"].find({})] == [mine["id"]]  # no stray notice
    for bad in ("a.b", "$where", "x" * 65):
        r = await a.post(f"/api/v1/me/messages/{bad}/read")
        assert r.status == 404
    assert (await server.services.db["notices"].find_one({"_id": mine["id"]}))["read_at"] is None


async def test_messages_need_a_login(http):
    assert (await http.get("/api/v1/me/messages")).status == 401
    assert (await http.post("/api/v1/me/messages/abc/read")).status == 401
