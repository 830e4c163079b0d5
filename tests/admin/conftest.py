"""Fixtures of the bureau side: staff accounts, signed-in staff clients, and first collections
inserted directly in the contracts.md shape (with a real JPEG photo and a PDF document), their
effects (archive, audit, notices, list rows) then derived by the lifecycle as after real steps."""

from __future__ import annotations

import datetime as dt
import io
import itertools

import pytest
from PIL import Image, ImageDraw

from server.db import utcnow
from server.lifecycle.engine import Lifecycle
from server.lifecycle.store import new_step
from server.records.derived import with_derived
from server.staff import StaffAccounts
from tests.records import idgen

PASSWORD = "correct-horse-42"
A, B = "350203", "350205"  # 思明区, 海沧区
RARE_NAME = "刘䶮"  # U+4DAE, outside GB 2312
RARE_NAME_B = "张𠀋"  # U+2000B, CJK Extension B (outside the BMP)
_seq = itertools.count(1)


def jpeg_bytes() -> bytes:
    """A small real JPEG portrait (295x413)."""
    img = Image.new("RGB", (295, 413), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    draw.ellipse((95, 80, 200, 200), fill=(224, 190, 160))
    draw.rectangle((70, 220, 225, 413), fill=(40, 60, 90))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80, dpi=(300, 300))
    return out.getvalue()


def pdf_bytes(text: str = "Diploma") -> bytes:
    """A minimal valid one-page PDF."""
    stream = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.4\n")
    for i, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


async def insert_record(
    services,
    *,
    name: str = RARE_NAME,
    region: str = A,
    status: str = "submitted",
    openid: str | None = None,
    submitted_at: dt.datetime | None = None,
    mobile: str = "13812345678",
    unit_name: str = "厦门示例会计服务有限公司",
    with_files: bool = True,
) -> dict:
    """Insert a record document of the contracts.md shape; returns it."""
    n = next(_seq)
    now = utcnow()
    submitted_at = submitted_at or now - dt.timedelta(minutes=100 - n % 100)
    photo = documents = None
    if with_files:
        jpg = await services.files.put(jpeg_bytes(), "photo.jpg", "image/jpeg")
        pdf = await services.files.put(pdf_bytes(), "diploma.pdf", "application/pdf")
        photo = {
            "file_id": jpg["file_id"],
            "sha256_original": jpg["sha256"],
            "size": jpg["size"],
            "checks": [],
            "uploaded_at": now,
        }
        documents = {"diploma": {**pdf, "uploaded_at": now}}
    id_number = idgen.resident_id(region, dt.date(1990, n % 12 + 1, n % 28 + 1), seq=f"{n % 1000:03d}")
    history = [new_step(1, "create", None, "draft", "self", "applicant", submitted_at - dt.timedelta(hours=1), v=1)]
    if status != "draft":
        history.append(new_step(2, "submit", "draft", "submitted", "self", "applicant", submitted_at, v=2))
    if status in ("approved", "rejected"):
        history.append(
            new_step(
                3,
                status[:-1] if status == "approved" else "reject",
                "submitted",
                status,
                "someone",
                "reviewer",
                submitted_at + dt.timedelta(hours=1),
                v=3,
                reason="证件不清晰" if status == "rejected" else None,
            )
        )
    doc = {
        "kind": "collection",
        "effects_done": 0,
        "openid": openid or f"test-openid-{n}",
        "unionid": None,
        "status": status,
        "version": len(history),
        "profile": {
            "name": name,
            "gender": "male",
            "id_type": "resident_id",
            "id_number": id_number,
            "birth_date": "1990-01-01",
            "ethnicity": "01",
            "nationality": "CHN",
        },
        "education": {
            "level": "bachelor",
            "school": "厦门大学",
            "major": "会计学",
            "graduated_on": "2012-07-01",
            "degree": "bachelor",
        },
        "qualification": {
            "level": "intermediate",
            "obtained_by": "exam",
            "obtained_on": "2016-09-01",
            "certificate_no": f"Z{n:08d}",
            "issuer": "财政部",
        },
        "employment": {
            "in_post": True,
            "unit_name": unit_name,
            "unit_credit_code": None,
            "unit_nature": "enterprise",
            "industry": "L",
            "post": "cashier",
            "accounting_since": "2012-08-01",
        },
        "educations": [
            {
                "id": "eduaaaaa",
                "level": "bachelor",
                "school": "厦门大学",
                "major": "会计学",
                "mode": "full_time",
                "from": "2008-09-01",
                "to": "2012-07-01",
                "degree": "bachelor",
                "proof": "diploma",
            }
        ],
        "qualifications": [
            {
                "id": "qualaaaa",
                "level": "intermediate",
                "obtained_by": "exam",
                "obtained_on": "2016-09-01",
                "certificate_no": f"Z{n:08d}",
                "issuer": "财政部",
            }
        ],
        "work_history": [
            {
                "id": "workaaaa",
                "unit_name": unit_name,
                "unit_nature": "enterprise",
                "industry": "L",
                "post": "cashier",
                "from": "2012-08-01",
            }
        ],
        "contact": {"mobile": mobile, "email": "a@example.com"},
        "region_code": region,
        "archive_no": id_number,
        "rare_name": name != "王小明",
        "documents": documents or {},
        "photo": photo,
        "history": history,
        "submitted_at": submitted_at if status != "draft" else None,
        "decided_at": None,
        "decision": None,
        "chat_openid": None,
        "created_at": submitted_at - dt.timedelta(hours=1),
        "updated_at": submitted_at,
    }
    doc = with_derived(doc)  # the summary sections as the server derives them from the lists
    result = await services.db["applications"].insert_one(doc)
    doc["_id"] = result.inserted_id
    await services.db["accounts"].insert_one({"_id": doc["openid"], "record_id": doc["_id"], "created_at": now})
    await services.db["archive_numbers"].insert_one({"_id": id_number, "record_id": doc["_id"], "claimed_at": now})
    await services.get(Lifecycle).settle(doc["_id"])
    return await services.db["applications"].find_one({"_id": doc["_id"]})


async def notices_of(services, app_id) -> list[dict]:
    """The outbox notices derived from an application's steps."""
    return [n async for n in services.db["notices"].find({"application_id": app_id})]


async def add_staff(
    services, username: str, role: str = "reviewer", regions: list[str] | None = None, password: str = PASSWORD
) -> dict:
    """Create a staff account directly through the service."""
    return await services.get(StaffAccounts).add(username, role, regions if regions is not None else [A], password)


class StaffClient:
    """A signed-in staff member over real HTTP: sends the XSRF header on writes."""

    def __init__(self, http):
        self.http = http
        self.xsrf = ""

    async def login(self, username: str, password: str = PASSWORD):
        r = await self.http.post("/admin/api/login", json={"username": username, "password": password})
        if r.status == 200:
            self.xsrf = r.json["xsrf_token"]
        return r

    async def get(self, path: str, **kw):
        return await self.http.get(path, **kw)

    async def post(self, path: str, json=None, **kw):
        headers = {"X-XSRF-Token": self.xsrf, **kw.pop("headers", {})}
        return await self.http.post(path, json=json if json is not None else {}, headers=headers, **kw)

    async def decide(self, record_id, decision: str, version: int, reason: str = "", codes: list | None = None):
        return await self.post(
            f"/admin/api/records/{record_id}/decision",
            json={"decision": decision, "version": version, "reason": reason, "reason_codes": codes or []},
        )


@pytest.fixture
def staff_client(http_factory):
    """Factory: a signed-in StaffClient on a server."""

    async def _make(server, username: str, password: str = PASSWORD) -> StaffClient:
        client = StaffClient(http_factory(server))
        r = await client.login(username, password)
        assert r.status == 200, r.text
        return client

    return _make


@pytest.fixture
async def two_districts(server, staff_client):
    """Reviewer of A, reviewer of B, a city admin, and one submitted record in each district."""
    s = server.services
    await add_staff(s, "rev-a", regions=[A])
    await add_staff(s, "rev-b", regions=[B])
    await add_staff(s, "city", role="city_admin", regions=[])
    rec_a = await insert_record(s, region=A, name=RARE_NAME)
    rec_b = await insert_record(s, region=B, name=RARE_NAME_B)
    return {
        "a": await staff_client(server, "rev-a"),
        "b": await staff_client(server, "rev-b"),
        "city": await staff_client(server, "city"),
        "rec_a": rec_a,
        "rec_b": rec_b,
    }
