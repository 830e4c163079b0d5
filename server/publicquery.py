"""The public query (公众查询, issue 15): no login, every answer limited per client address.

**Collection status** (`collection_status`): has the person with this name and full ID number
completed collection? The answer is one of three words and nothing else:

- `completed`: the number's archive exists (an approved first collection, or a transfer in that
  was admitted; an archive later transferred out still counts);
- `in_review`: the first collection is submitted, or held for a transfer in (`transferring`);
- `not_completed`: everything else — no claim of the number, a draft, a rejected collection, a
  claim whose record has not (or no longer) taken the number, **and a name that does not match**.
  A mismatch answers exactly what an unknown number answers, so the query never tells whether a
  number is registered. Every query reads the same three documents by `_id` (the claim in
  `archive_numbers`, the first collection in `applications`, the archive in `archives`; a fresh
  ObjectId stands in for a missing claim's record), so the time taken does not tell either.

Names are compared after `normalize_name` (NFC, the middle dot's look-alikes), NFKC (full-width
letters), OpenCC traditional → simplified (faq/normalize.py, loaded once per process; microseconds
a name) and case folding, on both sides: 張三 finds 张三. The name compared is the archive's current
one when there is an archive, else the first collection's. The ID number must be well formed (422
otherwise): 18 characters with a valid check character (居民身份证 or 港澳台居民居住证), or a
passport number (5-20 letters and digits) for foreign accountants; spaces and dashes are ignored.
The query is limited per client address (IPv6: per /64) in the database, for all processes
together (`PublicLimits.status_queries`, `PUBLIC_QUERY_PER_MINUTE`); every query counts, even a
malformed one. Logs never hold the number: the access log shows `id_number=****` and the name masked
(server/masking.py), POST bodies are not logged, and this module logs neither.

**Published lists of people not yet collected** (`publish`, `page`): a city administrator or a
district's reviewer publishes "the people of the legacy register in district X who have not
completed collection". Publishing starts a job (a background task of the process that took the
request) that reads the district's register rows in batches with a projection, checks each
person's archive by `_id` (one `$in` query a batch on MongoDB; `_id` reads on FerretDB, where `$in`
scans), masks the rows and appends them in key order to a new sorted list (server/lists.py), then
switches the district's published list to it. The IOLoop runs between batches and every 100 rows
while masking (pinyin and masking cost ~50 us a row): measured on FerretDB, no step of the job held
it longer than ~10 ms of CPU, but for sorting the keys once at the end (~40-70 ms at 100,000 rows).
The list is written with `SortedList.apply` in key-ordered batches rather than `bulk_load`, which
encodes and packs the whole list in one step (~0.6 s of the IOLoop at 100,000 rows). The list is a
snapshot: someone collected afterwards stays on it until the next publication.

Documents:

- `legacy_register` (filled by the legacy import of issue 14; only read here), `_id` = archive
  number (the normalised ID number, `server.records.archive_no`): `{name: str (as registered),
  region_code: str (6-digit district code), archive_no_old: str | None (the old system's archive
  number), old_certificate_no: str | None, ...}`; other fields are ignored here. Indexed on
  `region_code` (used by MongoDB; FerretDB scans).
- `public_lists`, `_id` = district code: `{region_code, title, state: "building" | "published" |
  "failed", gen (the current job), list (the served list's name, None until the first build ends),
  building_list, total, scanned, requested_by, requested_at, published_by, published_at, error}`.
  A new publication replaces `gen`: the older job stops at its next batch and drops what it wrote.
  A job cut short by a process exit leaves `state: "building"` (the previous list is still served):
  publishing again starts it anew.
- The sorted list `public-not-collected:<district>:<gen>`: rows `{name_masked, id_masked,
  archive_no_old?}` keyed by the name's pinyin (then the name, then a digest of the number, so
  that keys are unique): the page order of a phone book.

Masking (server/masking.py): names keep their surname and last character (王*明, 王*, 欧阳**,
阿***·买**: `mask_name`), ID numbers their area code and last four (`mask_id_number`).
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import re
import secrets
import unicodedata
from collections.abc import Awaitable, Callable
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, IndexModel

from faq.normalize import to_simplified
from server.db import declare_indexes, utcnow
from server.districts import deployment_districts, district_name
from server.errors import Forbidden, Invalid, NotFound
from server.lifecycle.store import LifecycleStore
from server.lists import SortedList, build_and_swap, drop, start_build
from server.masking import mask_id_number, mask_name
from server.ratelimit import PublicLimits
from server.records.errors import FieldProblem
from server.records.identifiers import (
    ARCHIVE_PREFIXES,
    PERMIT_PREFIXES,
    archive_no_candidates,
    normalize_passport,
    parse_residence_permit,
    parse_resident_id,
    parse_travel_permit,
)
from server.records.names import derive_pinyin, normalize_name
from server.records.service import today
from server.records.validation import archive_no
from server.staff import Staff

log = logging.getLogger("kjcj.publicquery")

REGISTER = "legacy_register"
PUBLIC_LISTS = "public_lists"
CLAIMS = "archive_numbers"
declare_indexes(REGISTER, IndexModel([("region_code", ASCENDING)], name="region_code_1"))

COMPLETED, IN_REVIEW, NOT_COMPLETED = "completed", "in_review", "not_completed"
ANSWERS = {
    COMPLETED: ("已完成", "该人员已完成会计人员信息采集。"),
    IN_REVIEW: ("审核中", "该人员已提交信息采集，正在审核。"),
    NOT_COMPLETED: (
        "未完成",
        "未查询到该人员已完成信息采集。如已提交，请核对姓名和证件号码是否与登记时一致。",
    ),
}
IN_REVIEW_STATES = frozenset({"submitted", "transferring"})

BUILDING, PUBLISHED, FAILED = "building", "published", "failed"
SCAN_BATCH = 500  # register rows read per batch
ARCHIVE_READS = 50  # concurrent archive `_id` reads (FerretDB)
MASK_SLICE = 100  # rows masked between two turns of the IOLoop
APPEND_BATCH = 1024  # rows appended to the list per write
PAGE_SIZE = 20
MAX_PAGE_SIZE = 50
TITLE_MAX = 60
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_ID18_LIKE = re.compile(r"\d{14,}[\dX]?")  # digits only (or a trailing X): meant as an ID number, not a passport


def client_key(address: str | None) -> str:
    """The rate-limit key of a client address: the address itself, or its /64 for IPv6
    (one subscriber usually holds a whole /64)."""
    try:
        ip = ipaddress.ip_address((address or "").split("%", 1)[0])
    except ValueError:
        return address or ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip.ipv4_mapped or ip) if isinstance(ip, ipaddress.IPv6Address) else str(ip)


def _problem(field: str, code: str, message: str) -> Invalid:
    return Invalid([{"field": field, "code": code, "message": message}])


def parse_number(raw: object) -> str:
    """The ID number as archives are keyed (uppercase, no spaces), or Invalid (422)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise _problem("id_number", "required", "请输入证件号码")
    if not isinstance(raw, str):
        raise _problem("id_number", "invalid_type", "证件号码应为文字")
    text = re.sub(r"[\s\-]+", "", raw).upper()
    try:
        if _ID18_LIKE.fullmatch(text):
            if text[:6] in PERMIT_PREFIXES:
                return parse_residence_permit(text, today()).number
            return parse_resident_id(text, today()).number
        if _is_travel_permit(text):
            return text  # a travel permit's number (or a passport's of that shape): see archive_no_candidates
        return normalize_passport(text)
    except FieldProblem as p:
        raise _problem("id_number", p.code, p.message) from None


def _is_travel_permit(text: str) -> bool:
    """True when the text reads as a 港澳 or 台湾 travel permit's number."""
    for id_type in ARCHIVE_PREFIXES:
        try:
            parse_travel_permit(id_type, text)
        except FieldProblem:
            continue
        return True
    return False


def parse_name(raw: object) -> str:
    """The name as typed, normalised for comparison, or Invalid (422)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise _problem("name", "required", "请输入姓名")
    if not isinstance(raw, str):
        raise _problem("name", "invalid_type", "姓名应为文字")
    try:
        return comparable_name(normalize_name(raw))
    except FieldProblem as p:
        raise _problem("name", p.code, p.message) from None


def comparable_name(name: str) -> str:
    """A name as compared: NFKC, traditional → simplified, case-folded, without spaces."""
    text = unicodedata.normalize("NFKC", name)
    return to_simplified(text).casefold().replace(" ", "")


def _stored_name(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return comparable_name(normalize_name(value))
    except FieldProblem:
        return comparable_name(unicodedata.normalize("NFC", value.strip()))


def judge(number: str, app: dict | None, archive: dict | None) -> tuple[str, Any]:
    """(answer before the name check, the name to compare) for a number's claim, record and archive."""
    if archive is not None and (app is None or archive.get("record_id") == app.get("_id")):
        profile = (archive.get("data") or {}).get("profile") or {}
        if number in (archive.get("_id"), archive_no({"profile": profile})):
            return COMPLETED, profile.get("name")
    if app is not None and app.get("archive_no") == number:
        status = app.get("status")
        name = (app.get("profile") or {}).get("name")
        if status == "approved":
            return COMPLETED, name
        if status in IN_REVIEW_STATES:
            return IN_REVIEW, name
    return NOT_COMPLETED, None


def answer(status: str) -> dict:
    """The whole public answer: the word, its label and a sentence; no detail of the person."""
    label, message = ANSWERS[status]
    return {"status": status, "label": label, "message": message}


def list_name(region: str, gen: str) -> str:
    return f"public-not-collected:{region}:{gen}"


def sort_key(name: str, number: str) -> str:
    """Phone-book order: pinyin, then the name, then a digest of the number (unique keys)."""
    spelled = derive_pinyin(name) or name.casefold()
    return f"{spelled}\x1f{name}\x1f{hashlib.sha256(number.encode()).hexdigest()[:16]}"


def masked_row(doc: dict) -> tuple[str, dict]:
    """A register row as the public list shows it, with its key."""
    number = str(doc["_id"])
    raw = doc.get("name")
    if not isinstance(raw, str):
        raw = ""
    try:
        name = normalize_name(raw)
    except FieldProblem:
        name = unicodedata.normalize("NFC", raw.strip())
    row: dict[str, Any] = {"name_masked": mask_name(name), "id_masked": mask_id_number(number)}
    old = doc.get("archive_no_old")
    if isinstance(old, str) and old.strip():
        row["archive_no_old"] = old.strip()
    return sort_key(name, number), row


class PublicQuery:
    """The public query's two answers, and the staff's publishing of lists."""

    def __init__(self, services):
        self.services = services
        self.db = services.db
        self.store = services.get(LifecycleStore)
        self.claims = services.db[CLAIMS]
        self.register = services.db[REGISTER]
        self.lists = services.db[PUBLIC_LISTS]
        self.limits = services.get(PublicLimits)

    # -- (a) has this person completed collection? -------------------------------------------

    async def collection_status(self, name: object, id_number: object, address: str | None) -> dict:
        """`answer(...)` for a name and full ID number (TooManyRequests past the address's limit,
        Invalid for a malformed name or number)."""
        await self.limits.status_queries.take(client_key(address))
        problems: list[Any] = []
        wanted = number = ""
        try:
            wanted = parse_name(name)
        except Invalid as exc:
            problems.extend(exc.fields)
        try:
            number = parse_number(id_number)
        except Invalid as exc:
            problems.extend(exc.fields)
        if problems:
            raise Invalid(problems)
        status = NOT_COMPLETED
        # a passport-shaped number may also be a travel permit's, whose archive number has a prefix
        # (archive_no_for): each reading is looked up the same way, so the time depends on the input only
        for key in archive_no_candidates(number):
            found = await self._status_of(key, wanted)
            if found != NOT_COMPLETED:
                status = found
        return answer(status)

    async def _status_of(self, number: str, wanted: str) -> str:
        """The status of one archive number for a wanted (comparable) name: three reads by `_id`."""
        claim = await self.claims.find_one({"_id": number})
        record_id = claim.get("record_id") if claim else None
        app = await self.store.applications.find_one(
            {"_id": record_id if isinstance(record_id, ObjectId) else ObjectId()},
            {"status": 1, "archive_no": 1, "profile.name": 1},
        )
        archive = await self.store.archives.find_one(
            {"_id": (app or {}).get("archive_no") or number}, {"record_id": 1, "data.profile": 1}
        )
        status, stored = judge(number, app, archive)
        if status != NOT_COMPLETED and _stored_name(stored) != wanted:
            status = NOT_COMPLETED  # the same answer as an unknown number
        return status
        return answer(status)

    # -- (b) published lists: the public side -----------------------------------------------

    async def page(self, region: object, page: int, page_size: int, address: str | None) -> dict:
        """One page of a district's published list (NotFound when none is published)."""
        self.limits.list_pages.hit(client_key(address))
        doc = await self.lists.find_one({"_id": region}) if isinstance(region, str) and region else None
        if doc is None or not doc.get("list"):
            raise NotFound("该区暂未公布未完成信息采集人员名单", "public_list_not_found")
        entries = await SortedList(self.db, self.services.atomic, doc["list"]).page((page - 1) * page_size, page_size)
        total = int(doc.get("total") or 0)
        return {
            "region_code": doc["_id"],
            "region_name": district_name(self.services.settings, doc["_id"]),
            "title": doc.get("title") or "",
            "published_at": doc.get("published_at"),
            "total": total,
            "page": page,
            "page_size": page_size,
            "pages": -(-total // page_size),
            "items": [row for _, row in entries],
        }

    # -- (b) published lists: the staff side ------------------------------------------------

    def _check_region(self, staff: Staff, region: object) -> str:
        if not isinstance(region, str) or region not in deployment_districts(self.services.settings).codes:
            raise _problem("region_code", "unknown_region", "请选择本市的区")
        if not staff.can_see(region):
            raise Forbidden("只能发布或撤回本人所辖区的名单", "region_forbidden")
        return region

    def view(self, doc: dict) -> dict:
        """A publication as staff see it."""
        return {
            "region_code": doc["_id"],
            "region_name": district_name(self.services.settings, doc["_id"]),
            "title": doc.get("title") or "",
            "state": doc.get("state"),
            "published": bool(doc.get("list")),
            "total": int(doc.get("total") or 0),
            "scanned": int(doc.get("scanned") or 0),
            "requested_by": doc.get("requested_by"),
            "requested_at": doc.get("requested_at"),
            "published_by": doc.get("published_by"),
            "published_at": doc.get("published_at"),
            "error": doc.get("error"),
        }

    async def publications(self, staff: Staff) -> list[dict]:
        """The publications of the caller's districts (`public_lists` holds one per district at most)."""
        docs = [d async for d in self.lists.find({})]
        return [self.view(d) for d in sorted(docs, key=lambda d: d["_id"]) if staff.can_see(d["_id"])]

    async def publication(self, staff: Staff, region: str) -> dict:
        """One district's publication (NotFound when there is none, or it is not the caller's)."""
        doc = await self.lists.find_one({"_id": region}) if staff.can_see(region) else None
        if doc is None:
            raise NotFound("该区没有发布名单", "public_list_not_found")
        return self.view(doc)

    async def publish(self, staff: Staff, region_code: object, title: object) -> dict:
        """(Re)publish a district's list: the document is written now, the list built by a job."""
        region = self._check_region(staff, region_code)
        if title is None or (isinstance(title, str) and not title.strip()):
            text = f"{district_name(self.services.settings, region)}未完成会计人员信息采集人员名单"
        elif not isinstance(title, str) or len(title.strip()) > TITLE_MAX or _CONTROL.search(title):
            raise _problem("title", "invalid_title", f"标题应为不超过{TITLE_MAX}个字的文字")
        else:
            text = title.strip()
        gen = secrets.token_hex(8)
        now = utcnow()
        doc = await start_build(
            self.services.atomic,
            self.db,
            self.lists,
            region,
            {
                "title": text,
                "state": BUILDING,
                "gen": gen,
                "building_list": list_name(region, gen),
                "scanned": 0,
                "requested_by": staff.username,
                "requested_at": now,
                "error": None,
            },
        )
        log.info("public list of %s requested by %s", region, staff.username)
        self.services.spawn(lambda: self.build(region, gen, staff.username), f"public-list-{region}")
        return self.view(doc)

    async def unpublish(self, staff: Staff, region_code: str) -> None:
        """Withdraw a district's list (NotFound when none is published or being built)."""
        region = self._check_region(staff, region_code)
        doc = await self.lists.find_one_and_delete({"_id": region})
        if doc is None:
            raise NotFound("该区没有发布名单", "public_list_not_found")
        for name in {doc.get("list"), doc.get("building_list")} - {None}:
            await drop(self.db, name)
        log.info("public list of %s withdrawn by %s", region, staff.username)

    # -- (b) the job ---------------------------------------------------------------------

    async def _current(self, region: str, gen: str, scanned: int) -> bool:
        """Record progress; False when the publication has been replaced or withdrawn."""
        done = await self.services.atomic.update(
            self.lists, {"_id": region, "gen": gen}, {"$set": {"scanned": scanned}}
        )
        return done is not None

    async def _collected(self, numbers: list[str]) -> set[str]:
        """Which of these numbers have an archive."""
        if not self.services.ferretdb:
            return {d["_id"] async for d in self.store.archives.find({"_id": {"$in": numbers}}, {"_id": 1})}
        found: set[str] = set()
        for i in range(0, len(numbers), ARCHIVE_READS):
            part = numbers[i : i + ARCHIVE_READS]
            docs = await asyncio.gather(*(self.store.archives.find_one({"_id": n}, {"_id": 1}) for n in part))
            found.update(d["_id"] for d in docs if d is not None)
        return found

    async def build(self, region: str, gen: str, username: str) -> None:
        """Compute the district's list and publish it, unless replaced meanwhile."""
        name = list_name(region, gen)
        total = await build_and_swap(
            self.db,
            self.services.atomic,
            self.lists,
            {"_id": region, "gen": gen},
            name,
            lambda: self._build(region, gen, name),
            lambda total: {
                "state": PUBLISHED,
                "list": name,
                "building_list": None,
                "total": total,
                "published_by": username,
                "published_at": utcnow(),
            },
            log,
            f"public list of {region}",
        )
        if total is None:  # failed, replaced or withdrawn
            return
        log.info("public list of %s published: %d people not yet collected", region, total)

    async def _build(self, region: str, gen: str, name: str) -> int | None:
        """The rows of the district's register people without an archive, written to list `name`;
        their count, or None when the publication was replaced or withdrawn meanwhile."""
        return await self.not_collected(region, name, lambda scanned: self._current(region, gen, scanned))

    async def not_collected(self, region: str, name: str, progress: Callable[[int], Awaitable[bool]]) -> int | None:
        """Write the district's register people without an archive (masked, phone-book order) to the
        new list `name`; their count, or None as soon as `progress(rows scanned)` answers False.
        Also used by the staff's own list of the register people not yet collected (server/legacy/pending.py)."""
        rows: dict[str, dict] = {}
        scanned = 0
        cursor = self.register.find({"region_code": region}, {"name": 1, "archive_no_old": 1}, batch_size=SCAN_BATCH)
        batch: list[dict] = []
        async for doc in cursor:
            batch.append(doc)
            if len(batch) >= SCAN_BATCH:
                scanned += len(batch)
                await self._take(batch, rows)
                batch = []
                if not await progress(scanned):
                    await cursor.close()
                    return None
        scanned += len(batch)
        await self._take(batch, rows)
        if not await progress(scanned):
            return None
        keys = sorted(rows)
        target = SortedList(self.db, self.services.atomic, name)
        for i in range(0, len(keys), APPEND_BATCH):
            await target.apply(((k, rows[k]) for k in keys[i : i + APPEND_BATCH]), [])
            await asyncio.sleep(0)
        return len(keys)

    async def _take(self, batch: list[dict], rows: dict[str, dict]) -> None:
        """Add the batch's people without an archive to `rows` (masked)."""
        people = [d for d in batch if isinstance(d.get("_id"), str) and d["_id"]]
        collected = await self._collected([d["_id"] for d in people]) if people else set()
        for i, doc in enumerate(people):
            if doc["_id"] not in collected:
                key, row = masked_row(doc)
                rows[key] = row
            if i % MASK_SLICE == MASK_SLICE - 1:
                await asyncio.sleep(0)  # the IOLoop's turn (pinyin and masking: ~50 us a row)
        await asyncio.sleep(0)
