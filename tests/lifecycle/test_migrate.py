"""Moving a first-version database (one `records` document per person, notices inside) to the
lifecycle's collections: every record becomes a first-collection application with the same `_id`
and fields, numbered history, an archive for the approved one, notices in the outbox, audit
entries listed; a second run changes nothing; and every old API call answers as before."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import os
import secrets
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bson import ObjectId
from pymongo import MongoClient

from handlers.base import to_json
from server.lifecycle.migrate import migrate
from server.notify.sender import NoticeSender
from server.records.migrate_shape import entry_id as shape_entry_id
from server.records.migrate_shape import new_shape
from tests.admin.conftest import PASSWORD, A, StaffClient, add_staff, jpeg_bytes, pdf_bytes
from tests.records import idgen

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ("profile", "education", "qualification", "employment", "contact")
LISTS = ("educations", "qualifications", "work_history")
ACTIONS = {"draft": "create", "submitted": "submit", "approved": "approve", "rejected": "reject"}
VIEW_KEYS = ("status", "at", "by", "reason")


def ms(value: dt.datetime) -> dt.datetime:
    """A UTC datetime at millisecond precision (what the database keeps)."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


T0 = ms(dt.datetime.now(dt.UTC) - dt.timedelta(days=30))


@dataclass
class OldData:
    """What the first-version database held (ids, tokens, file bytes) for the checks."""

    ids: dict[str, ObjectId] = field(default_factory=dict)  # status -> record id
    tokens: dict[str, str] = field(default_factory=dict)  # status -> session token
    notices: dict[str, dict[str, dict]] = field(default_factory=dict)  # status -> {id: notice}
    audit: dict[str, list[str]] = field(default_factory=dict)  # status -> audit ids
    photo: bytes = b""
    pdf: bytes = b""


def person(n: int, name: str, region: str = A) -> dict:
    """The five sections and district of a valid person (as the first version stored them)."""
    seq = f"{100 + n:03d}"
    born = dt.date(1984 + n, n + 1, 10 + n)
    return {
        "profile": {
            "name": name,
            "name_pinyin": "li si",
            "gender": "male" if int(seq) % 2 else "female",
            "id_type": "resident_id",
            "id_number": idgen.resident_id(region, born, seq=seq),
            "birth_date": born.isoformat(),
            "ethnicity": "01",
            "nationality": "CHN",
        },
        "education": {
            "level": "bachelor",
            "school": "集美大学",
            "major": "财务管理",
            "graduated_on": "2008-07-01",
            "degree": "bachelor",
        },
        "qualification": {
            "level": "junior",
            "obtained_by": "exam",
            "obtained_on": "2010-05-20",
            "certificate_no": f"C-2010-{n:04d}",
            "issuer": "财政部",
        },
        "employment": {
            "in_post": True,
            "unit_name": f"厦门旧版测试{n}号公司",
            "unit_credit_code": idgen.uscc(),
            "unit_nature": "enterprise",
            "industry": "I",
            "post": "bookkeeping",
            "accounting_since": "2009-03-01",
        },
        "contact": {"mobile": f"1390000000{n}", "email": f"old{n}@example.com"},
        "region_code": region,
    }


def old_notice(decision: str, reason: str, name: str, at: dt.datetime, sent: bool, read: bool = False) -> dict:
    """A notice exactly as the first version embedded it in `records.notices`."""
    nid = uuid.uuid4().hex
    approve = decision == "approve"
    return {
        "id": nid,
        "kind": "review_result",
        "title": "会计人员信息审核通过" if approve else "会计人员信息审核未通过",
        "body": "您提交的会计人员信息已由思明区财政局审核通过。"
        if approve
        else f"您提交的会计人员信息未通过审核。原因：{reason}。请按要求修改后重新提交。",
        "data": {
            "result": "审核通过" if approve else "审核未通过",
            "reason": reason or "信息审核通过",
            "name": name,
            "time": at,
        },
        "created_at": at,
        "read_at": at + dt.timedelta(hours=2) if read else None,
        "delivery": {
            "state": "sent" if sent else "pending",
            "attempts": 1 if sent else 0,
            "next_at": at,
            "lease_until": None,
            "last_error": None,
            "sent_at": at + dt.timedelta(seconds=3) if sent else None,
        },
    }


def audit_entry(
    rid: ObjectId, region: str, name: str, decision: str, reason: str, at: dt.datetime, version: int, notice_id: str
) -> dict:
    """An audit entry exactly as the first version logged a decision."""
    return {
        "_id": f"{rid}:{version}",
        "record_id": str(rid),
        "region_code": region,
        "name": name,
        "actor": "rev-old",
        "actor_role": "reviewer",
        "at": at,
        "action": decision,
        "reason": reason,
        "reason_codes": ["照片不合格"] if decision == "reject" else [],
        "before": {"status": "submitted", "version": version - 1},
        "after": {"status": "approved" if decision == "approve" else "rejected", "version": version},
        "notice_id": notice_id,
    }


async def build_old_database(services, db) -> OldData:
    """One record of every status in the first version's shape, with real files in GridFS,
    audit entries, archive-number claims, sessions and a chat link."""
    out = OldData(photo=jpeg_bytes(), pdf=pdf_bytes("Old diploma"))

    async def files() -> tuple[dict, dict]:
        jpg = await services.files.put(out.photo, "photo.jpg", "image/jpeg")
        pdf = await services.files.put(out.pdf, "diploma.pdf", "application/pdf")
        photo = {
            "file_id": jpg["file_id"],
            "sha256": jpg["sha256"],
            "sha256_original": jpg["sha256"],
            "size": jpg["size"],
            "content_type": "image/jpeg",
            "width": 295,
            "height": 413,
            "checks": [],
            "uploaded_at": T0 + dt.timedelta(hours=1),
        }
        front = await services.files.put(out.photo, "id_front.jpg", "image/jpeg")
        back = await services.files.put(out.photo, "id_back.jpg", "image/jpeg")
        documents = {
            k: {**info, "uploaded_at": T0 + dt.timedelta(hours=1)}
            for k, info in (("id_front", front), ("id_back", back), ("diploma", pdf))
        }
        return photo, documents

    def base(n: int, status: str, name: str, version: int) -> dict:
        rid = ObjectId()
        out.ids[status] = rid
        data = person(n, name)
        created = T0 + dt.timedelta(hours=n)
        return {
            "_id": rid,
            "openid": f"demo-openid-old{n}",
            "unionid": f"demo-unionid-old{n}",
            "status": status,
            "version": version,
            **data,
            "archive_no": data["profile"]["id_number"],
            "rare_name": False,
            "documents": {},
            "photo": None,
            "history": [{"status": "draft", "at": created, "by": "self"}],
            "submitted_at": None,
            "decided_at": None,
            "decision": None,
            "notices": {},
            "outbox_due_at": None,
            "chat_openid": None,
            "created_at": created,
            "updated_at": created,
        }

    records = []
    draft = base(1, "draft", "陈一", 3)
    draft["updated_at"] = T0 + dt.timedelta(hours=2)
    records.append(draft)

    submitted = base(2, "submitted", "林二", 8)
    submitted["photo"], submitted["documents"] = await files()
    s_at = T0 + dt.timedelta(days=1)
    submitted["history"].append({"status": "submitted", "at": s_at, "by": "self"})
    submitted.update(submitted_at=s_at, updated_at=s_at)
    records.append(submitted)

    approved = base(3, "approved", "黄三", 11)
    approved["photo"], approved["documents"] = await files()
    s1, r1, s2, a = (T0 + dt.timedelta(days=d) for d in (2, 3, 4, 5))
    rej = old_notice("reject", "照片不合格：请上传白底照片", "黄三", r1, sent=True, read=True)
    app_ = old_notice("approve", "", "黄三", a, sent=False)
    approved["history"] += [
        {"status": "submitted", "at": s1, "by": "self"},
        {"status": "rejected", "at": r1, "by": "rev-old", "reason": "照片不合格：请上传白底照片"},
        {"status": "submitted", "at": s2, "by": "self"},
        {"status": "approved", "at": a, "by": "rev-old"},
    ]
    approved.update(
        submitted_at=s2,
        decided_at=a,
        updated_at=a,
        outbox_due_at=a,
        chat_openid="o-chat-old3",
        decision={
            "decision": "approve",
            "reason": "",
            "note": "",
            "reason_codes": [],
            "by": "rev-old",
            "role": "reviewer",
            "at": a,
            "version": 11,
            "notice_id": app_["id"],
        },
        notices={rej["id"]: rej, app_["id"]: app_},
    )
    out.notices["approved"] = {rej["id"]: rej, app_["id"]: app_}
    audit = [
        audit_entry(approved["_id"], A, "黄三", "reject", "照片不合格：请上传白底照片", r1, 8, rej["id"]),
        audit_entry(approved["_id"], A, "黄三", "approve", "", a, 11, app_["id"]),
    ]
    records.append(approved)

    rejected = base(4, "rejected", "吴四", 5)
    rejected["photo"], rejected["documents"] = await files()
    s, r = T0 + dt.timedelta(days=6), T0 + dt.timedelta(days=7)
    n4 = old_notice("reject", "证件不清晰", "吴四", r, sent=True)
    rejected["history"] += [
        {"status": "submitted", "at": s, "by": "self"},
        {"status": "rejected", "at": r, "by": "rev-old", "reason": "证件不清晰"},
    ]
    rejected.update(
        submitted_at=s,
        decided_at=r,
        updated_at=r,
        notices={n4["id"]: n4},
        decision={
            "decision": "reject",
            "reason": "证件不清晰",
            "note": "证件不清晰",
            "reason_codes": [],
            "by": "rev-old",
            "role": "reviewer",
            "at": r,
            "version": 5,
            "notice_id": n4["id"],
        },
    )
    out.notices["rejected"] = {n4["id"]: n4}
    audit.append(audit_entry(rejected["_id"], A, "吴四", "reject", "证件不清晰", r, 5, n4["id"]))
    records.append(rejected)

    db["records"].insert_many(records)
    db["audit_log"].insert_many(audit)
    out.audit = {"approved": [audit[0]["_id"], audit[1]["_id"]], "rejected": [audit[2]["_id"]]}
    db["archive_numbers"].insert_many(
        [{"_id": rec["archive_no"], "record_id": rec["_id"], "claimed_at": rec["created_at"]} for rec in records]
    )
    for status in ("approved", "rejected"):
        token = secrets.token_urlsafe(32)
        out.tokens[status] = token
        rec = next(r for r in records if r["status"] == status)
        db["user_sessions"].insert_one(
            {
                "_id": hashlib.sha256(token.encode()).hexdigest(),
                "openid": rec["openid"],
                "record_id": rec["_id"],
                "created_at": T0,
                "expires_at": ms(dt.datetime.now(dt.UTC) + dt.timedelta(days=20)),
            }
        )
    db["chat_links"].insert_one({"_id": "o-chat-old3", "record_id": approved["_id"], "linked_at": a})
    return out


def dump(db) -> dict:
    """Every document of every collection (the migration marker's report of its last run left out)."""
    out = {}
    for name in sorted(db.list_collection_names()):
        docs = sorted(db[name].find({}), key=lambda d: str(d["_id"]))
        if name == "meta":
            docs = [{k: v for k, v in d.items() if k not in ("done_at", "migrated", "skipped")} for d in docs]
        out[name] = docs
    return out


def sync_db(mongodb_uri: str, db_name: str):
    client = MongoClient(mongodb_uri, tz_aware=True)
    return client, client[db_name]


def as_json(value):
    """A value as the API writes it."""
    return json.loads(to_json(value))


def check_migrated(db, old: OldData) -> None:
    """Applications, accounts, archive, notices and deliveries as the migration must leave them."""
    olds = {r["_id"]: r for r in db["records"].find({})}
    assert set(olds) == set(old.ids.values())
    for rid, rec in olds.items():
        app = db["applications"].find_one({"_id": rid})
        assert app is not None, rec["status"]
        assert app["kind"] == "collection"
        shaped = new_shape(rec, rec.get("documents"), rid)  # then moved to the fuller shape (#14)
        for key, value in rec.items():
            if key in ("notices", "outbox_due_at"):
                assert key not in app, key
            elif key in ("education", "qualification", "employment"):
                assert app[key] == shaped[key], (rec["status"], key)
            elif key != "history":
                assert app[key] == value, (rec["status"], key)
        if (rec.get("education") or {}).get("level"):
            assert [e["id"] for e in app["educations"]] == [shape_entry_id(rid, "educations")]
        assert len(app["history"]) == len(rec["history"])
        previous = None
        for i, (was, step) in enumerate(zip(rec["history"], app["history"], strict=True)):
            assert {k: step.get(k) for k in was} == was
            assert step["n"] == i + 1 and step["action"] == ACTIONS[was["status"]] and step["from"] == previous
            assert step["role"] == ("applicant" if was["by"] == "self" else "reviewer")
            previous = was["status"]
        account = db["accounts"].find_one({"_id": rec["openid"]})
        assert account is not None and account["record_id"] == rid
        key = db["account_keys"].find_one({"_id": f"u:{rec['unionid']}"})
        assert key is not None and key["openid"] == rec["openid"]

    approved = olds[old.ids["approved"]]
    assert db["archives"].count_documents({}) == 1
    archive = db["archives"].find_one({"_id": approved["archive_no"]})
    assert archive["record_id"] == approved["_id"] and archive["version"] == 1
    assert archive["openid"] == approved["openid"] and archive["region_code"] == A
    shaped = new_shape(approved, approved["documents"], approved["_id"])
    assert archive["data"] == {**{s: shaped[s] for s in (*SECTIONS, *LISTS)}, "region_code": A}
    assert archive["documents"] == approved["documents"] and archive["photo"] == approved["photo"]
    assert archive["open_change"] is None and [v["version"] for v in archive["versions"]] == [1]

    pending = []
    for status in ("approved", "rejected"):
        for nid, notice in olds[old.ids[status]]["notices"].items():
            stored = db["notices"].find_one({"_id": nid})
            assert stored is not None, nid
            assert {k: stored[k] for k in notice} == notice
            assert stored["openid"] == olds[old.ids[status]]["openid"]
            assert stored["application_id"] == old.ids[status]
            delivery = db["deliveries"].find_one({"_id": nid})
            if notice["delivery"]["state"] == "pending":
                pending.append(nid)
                assert delivery == {"_id": nid, "due_at": notice["delivery"]["next_at"]}
            else:
                assert delivery is None
    assert len(pending) == 1 and db["deliveries"].count_documents({}) == 1
    assert db["notices"].count_documents({}) == 3
    for ids in old.audit.values():
        for entry_id in ids:
            assert db["audit_log"].find_one({"_id": entry_id}) is not None


async def test_migrate_then_every_old_call_answers_the_same(
    make_server, http_factory, mongodb_uri, db_name, fake_wechat
):
    srv = await make_server()  # an empty database: its start-up finds nothing to migrate
    client, db = sync_db(mongodb_uri, db_name)
    try:
        old = await build_old_database(srv.services, db)
        records_before = dump(db)["records"]

        result = await migrate(srv.services)
        assert result == {"records": 4, "migrated": 4, "skipped": 0}
        check_migrated(db, old)
        first = dump(db)
        assert first["records"] == records_before  # nothing deleted or rewritten

        again = await migrate(srv.services)
        assert again == {"records": 4, "migrated": 0, "skipped": 4}
        assert dump(db) == first

        await old_calls_answer_the_same(srv, http_factory, db, old, fake_wechat)
    finally:
        client.close()


async def old_calls_answer_the_same(srv, http_factory, db, old: OldData, fake_wechat) -> None:
    olds = {r["status"]: r for r in db["records"].find({})}
    approved, rejected = olds["approved"], olds["rejected"]

    # The old session token still works; the record reads as before.
    person = http_factory(srv)
    person.token = old.tokens["approved"]
    r = await person.get("/api/v1/me/record")
    assert r.status == 200, r.text
    view = r.json
    assert view["id"] == str(approved["_id"]) and view["status"] == "approved" and view["version"] == 11
    shaped = new_shape(approved, approved["documents"], approved["_id"])
    for section in (*SECTIONS, *LISTS):
        assert view[section] == as_json(shaped[section]), section
    assert view["region_code"] == A and view["archive_no"] == approved["archive_no"]
    assert view["history"] == as_json([{k: h[k] for k in VIEW_KEYS if k in h} for h in approved["history"]])
    assert view["decision"] == as_json(
        {k: approved["decision"][k] for k in ("decision", "reason", "reason_codes", "at")}
    )
    assert view["submitted_at"] == as_json(approved["submitted_at"])
    assert view["decided_at"] == as_json(approved["decided_at"])
    assert set(view["documents"]) == set(approved["documents"]) and view["photo"]["size"] == approved["photo"]["size"]
    assert view["editable"] is False and view["archive"]["version"] == 1 and view["changes"] == []

    # Its messages are the old notices, newest first, with their read marks.
    inbox = (await person.get("/api/v1/me/messages")).json
    notices = old.notices["approved"]
    newest_first = sorted(notices.values(), key=lambda n: n["created_at"], reverse=True)
    assert [m["id"] for m in inbox["messages"]] == [n["id"] for n in newest_first]
    for message, notice in zip(inbox["messages"], newest_first, strict=True):
        assert message["kind"] == "review_result" and message["title"] == notice["title"]
        assert message["body"] == notice["body"] and message["read"] == (notice["read_at"] is not None)
    assert inbox["unread"] == 1 and view["unread_messages"] == 1

    other = http_factory(srv)
    other.token = old.tokens["rejected"]
    r = await other.get("/api/v1/me/record")
    assert r.status == 200 and r.json["status"] == "rejected" and r.json["editable"] is True, r.text
    assert r.json["history"] == as_json([{k: h[k] for k in VIEW_KEYS if k in h} for h in rejected["history"]])
    assert [m["id"] for m in (await other.get("/api/v1/me/messages")).json["messages"]] == list(old.notices["rejected"])

    # Staff lists, the detail, its files and the audit log.
    await add_staff(srv.services, "rev-a", regions=[A])
    rev = StaffClient(http_factory(srv))
    assert (await rev.login("rev-a", PASSWORD)).status == 200
    for status, rec in olds.items():
        r = await rev.get(f"/admin/api/records?status={status}")
        assert r.status == 200, r.text
        assert [i["id"] for i in r.json["items"]] == [str(rec["_id"])], status
        assert r.json["items"][0]["name"] == rec["profile"]["name"]
    everyone = (await rev.get("/admin/api/records")).json
    assert everyone["total"] == 4 and {i["id"] for i in everyone["items"]} == {str(r["_id"]) for r in olds.values()}
    found = (await rev.get(f"/admin/api/records?q={approved['profile']['name']}")).json["items"]
    assert [i["id"] for i in found] == [str(approved["_id"])], [(i["name"], i["status"]) for i in found]

    r = await rev.get(f"/admin/api/records/{approved['_id']}")
    assert r.status == 200, r.text
    detail = r.json
    assert detail["status"] == "approved" and detail["name"] == "黄三" and detail["version"] == 11
    assert [h["status"] for h in detail["history"]] == [h["status"] for h in approved["history"]]
    assert {n["id"] for n in detail["notices"]} == set(old.notices["approved"])
    assert {d["kind"] for d in detail["documents"]} == set(approved["documents"])
    photo = await rev.get(detail["photo"]["url"])
    assert photo.status == 200 and photo.body == old.photo
    [diploma] = [d for d in detail["documents"] if d["kind"] == "diploma"]
    pdf = await rev.get(diploma["url"])
    assert pdf.status == 200 and pdf.body == old.pdf and pdf.headers["Content-Type"] == "application/pdf"

    audit = (await rev.get(f"/admin/api/records/{approved['_id']}/audit")).json
    assert [e["id"] for e in audit["items"]] == list(reversed(old.audit["approved"])) and audit["total"] == 2
    assert audit["items"][0]["action"] == "approve" and audit["items"][1]["reason"] == "照片不合格：请上传白底照片"
    district = (await rev.get("/admin/api/audit")).json
    assert {e["id"] for e in district["items"]} == {*old.audit["approved"], *old.audit["rejected"]}

    # The sender delivers the pending notice once, and only that one.
    sender = srv.services.get(NoticeSender)
    assert await sender.run_once() == 1
    [message] = fake_wechat.subscribe_messages
    assert message["touser"] == approved["openid"]
    assert {k: v["value"] for k, v in message["data"].items()}.get("phrase2") == "审核通过"
    [pending_id] = [nid for nid, n in old.notices["approved"].items() if n["delivery"]["state"] == "pending"]
    assert db["notices"].find_one({"_id": pending_id})["delivery"]["state"] == "sent"
    assert db["deliveries"].count_documents({}) == 0
    assert await sender.run_once() == 0 and len(fake_wechat.subscribe_messages) == 1


async def run_cli(args: list[str], env: dict) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        *args,
        cwd=str(ROOT),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode, out.decode(), err.decode()


async def test_the_migrate_command_then_a_rerun_changes_nothing(make_server, mongodb_uri, db_name):
    srv = await make_server()
    client, db = sync_db(mongodb_uri, db_name)
    env = {k: v for k, v in os.environ.items() if k not in ("DATA_DIR", "MONGODB_URI", "MONGODB_DB")}
    env.update(ENVIRONMENT="test", LOG_LEVEL="WARNING", MONGODB_URI=mongodb_uri, MONGODB_DB=db_name)
    try:
        old = await build_old_database(srv.services, db)
        code, out, err = await run_cli(["migrate"], env)
        assert code == 0, err
        assert "records: 4, migrated: 4, already migrated: 0" in out, out
        check_migrated(db, old)
        first = dump(db)

        assert await migrate(srv.services) == {"records": 4, "migrated": 0, "skipped": 4}
        assert dump(db) == first
        code, out, err = await run_cli(["migrate"], env)
        assert code == 0, err
        assert "records: 4, migrated: 0, already migrated: 4" in out, out
        assert dump(db) == first
    finally:
        client.close()


async def test_start_up_migrates_a_database_not_yet_migrated(make_server, mongodb_uri, db_name):
    srv = await make_server()
    client, db = sync_db(mongodb_uri, db_name)
    try:
        old = await build_old_database(srv.services, db)
        assert db["applications"].count_documents({}) == 0
        db["meta"].delete_many({})  # as on a deployment of the first version: no finished run on record
        await make_server()  # a new instance's start-up runs the migration
        check_migrated(db, old)
        marker = db["meta"].find_one({"_id": "migration:records-to-lifecycle"})
        assert marker["migrated"] == 4 and marker["records"] == 4
    finally:
        client.close()


async def test_the_unfiltered_queue_keeps_the_old_order(make_server, http_factory, mongodb_uri, db_name):
    """The first version listed by submitted_at ascending, records never submitted (null) first."""
    srv = await make_server()
    client, db = sync_db(mongodb_uri, db_name)
    try:
        await build_old_database(srv.services, db)
        await migrate(srv.services)
        olds = {r["status"]: r for r in db["records"].find({})}
        await add_staff(srv.services, "rev-a", regions=[A])
        rev = StaffClient(http_factory(srv))
        assert (await rev.login("rev-a", PASSWORD)).status == 200
        items = (await rev.get("/admin/api/records")).json["items"]
        assert [i["status"] for i in items] == ["draft", "submitted", "approved", "rejected"]
        assert [i["id"] for i in items] == [str(olds[s]["_id"]) for s in ("draft", "submitted", "approved", "rejected")]
    finally:
        client.close()
