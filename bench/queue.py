"""Benchmark of the staff queues, statistics, sample and audit log, and the accountant API, at city scale.

Run from the repository root:  .venv/bin/python bench/queue.py [--sizes 5000,20000,100000] [--reps 30]

For each size N: a fresh local database (server.localdb.LocalDatabase in a temporary directory:
FerretDB v1 on SQLite here; MONGODB_URI, if set, is used instead, in a throw-away database)
is seeded in bulk (insert_many) with a city of 20 districts (config/districts.json's codes,
completed with made-up codes of the same city): N approved archives (first collections with
their history, the archive, account, unionid key, archive-number claim, the approval's notice
and audit entry; Chinese names, ~2 % with rare characters, valid ID numbers, five sections,
fake GridFS file references) and N/5 open applications (80 % submitted first collections of
new people, 20 % submitted changes of approved archives), plus the per-day submission counts;
and transfers (调转, about 3 % of N; --no-transfers leaves them out, the city as before them):
2.4 % of N transfers within (区内调转) of archives without an open change, spread over the
districts and states (submitted 10 %, released 8 %, accepted 52 %, refused 10 %, declined 8 %,
withdrawn 12 %), 0.4 % transfers out (调出区外: submitted 20 %, approved 60 % with the archive
已调出 and its transfer sheet, rejected 10 %, withdrawn 10 %) and 0.2 % transfers in (区外调入:
submitted, each holding a new person's filled record), each in its archive's `changes` (and
`open_change` while open), an accepted one as the archive's move (a version whose district
is the destination), with the notices and audit entries of their steps; plus 4 x 21 fresh
open transfers within for the timed decisions. The read-model lists (queues, name characters,
audit) are written with server.lists.bulk_load from the rows and keys of
server.lifecycle.readmodel.row()/wanted() (and audit.entry_for).

Then the real server runs in its own process (server.app.serve, background tasks on, demo
staff off, the fake WeChat of server/wechat/fake.py on loopback in this process), a city
administrator and the reviewer of the largest district are created (StaffAccounts.ensure),
and every endpoint is timed over real HTTP with aiohttp, sequentially, after a warm-up:
p50/p95 over --reps requests, against the same run's GET /healthz (the ratio column).
Transfers, for the reviewer and the city admin: the origin's queue (kind=transfer_within&
status=submitted), the destination's (status=released), transfer_out and transfer_in (every
state), a transfer's detail, the stats' transfer flows alone (server.transfers.flows.flows in
this process, no target: its share of GET stats), a release and an accept decision (the archive
moves and its collection's rows change districts; 1 + 20 fresh transfers each), and the
accountant's GET /api/v1/me/transfers.
Afterwards: the resident memory of the server and of FerretDB, and their CPU while idle for
15 s (from /proc/<pid>/stat).

Targets: p95 < 300 ms for staff lists, statistics, sample, audit, detail and a decision (a
transfer's release and accept too); p95 < 100 ms for the accountant's calls (GET me/transfers
too); idle CPU < 5 % for the server and for FerretDB.
Exit status 1 if any is missed.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
from functools import cache


def _stdlib_queue() -> None:
    """Make `import queue` give the standard library's module, not this file.

    Every bench script runs with bench/ as sys.path[0], so the `import queue` inside pymongo,
    concurrent.futures or logging.handlers would otherwise find this file first.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    path = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("queue", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["queue"] = module
    spec.loader.exec_module(module)


if __name__ == "queue" or not getattr(sys.modules.get("queue"), "Queue", None):
    _stdlib_queue()  # imported as `queue` by accident: the importer receives the real module

if __name__ != "queue":
    import argparse
    import asyncio
    import datetime as dt
    import hashlib
    import json
    import math
    import random
    import shutil
    import signal
    import subprocess
    import tempfile
    import time
    import uuid
    from collections import defaultdict
    from pathlib import Path
    from urllib.parse import urlparse

    HERE = Path(__file__).resolve().parent
    ROOT = HERE.parent
    for _p in (str(ROOT), str(HERE)):
        if _p not in sys.path:
            sys.path.insert(0, _p)

    import aiohttp
    from _common import free_port, percentile, status_kb
    from bson import ObjectId
    from bson import encode as bson_encode

    CLK_TCK = os.sysconf("SC_CLK_TCK")
    PASSWORD = "bench-password-42"
    CITY_ADMIN, REVIEWER = "bench-city", "bench-reviewer"
    STAFF_TARGET_MS, ACCOUNTANT_TARGET_MS, IDLE_CPU_TARGET = 300.0, 100.0, 5.0
    DISTRICT_COUNT = 20
    BATCH = 1000
    LIST_WRITERS = 4  # bulk_load calls in flight
    IDLE_SECONDS = 15.0
    START_TIMEOUT = 240.0
    PAGE_SIZE = 20
    # Transfers (调转): shares of N and how their states spread (weights); decisions timed per actor and step.
    TRANSFER_SHARES = {"transfer_within": 0.024, "transfer_out": 0.004, "transfer_in": 0.002}
    WITHIN_STATES = {"submitted": 10, "released": 8, "accepted": 52, "refused": 10, "declined": 8, "withdrawn": 12}
    OUT_STATES = {"submitted": 20, "approved": 60, "rejected": 10, "withdrawn": 10}
    TRANSFER_KINDS = ("transfer_within", "transfer_out", "transfer_in")
    TRANSFER_DECISIONS = 20  # timed, plus one warm-up, each on its own fresh application
    # the reviewer steps leading to each state (action, from, to); a withdrawal is the applicant's
    TRANSFER_PATHS = {
        "transfer_within": {
            "submitted": [],
            "released": [("approve", "submitted", "released")],
            "accepted": [("approve", "submitted", "released"), ("approve", "released", "accepted")],
            "refused": [("reject", "submitted", "refused")],
            "declined": [("approve", "submitted", "released"), ("reject", "released", "declined")],
            "withdrawn": [("withdraw", "submitted", "withdrawn")],
        },
        "transfer_out": {
            "submitted": [],
            "approved": [("approve", "submitted", "approved")],
            "rejected": [("reject", "submitted", "rejected")],
            "withdrawn": [("withdraw", "submitted", "withdrawn")],
        },
    }
    OUTSIDE_PLACES = [
        "福建省福州市鼓楼区",
        "福建省泉州市丰泽区",
        "福建省漳州市芗城区",
        "广东省深圳市南山区",
        "上海市浦东新区",
        "浙江省杭州市西湖区",
        "江西省南昌市东湖区",
        "北京市海淀区",
    ]
    TRANSFER_NOTES = ("", "", "", "新单位在调入区", "随配偶工作调动", "已在调入区购房定居", "入学深造期间")
    REFUSE_REASONS = ("证明材料不清晰，请重新上传", "劳动合同未加盖单位公章", "调入单位信息与证明材料不一致")

    # Surnames roughly as frequent as in Fujian (陈 and 林 first), a few compound ones: "name:weight".
    SURNAME_TABLE = (
        "陈:11 林:9 黄:7 张:6 李:6 王:5 吴:5 刘:4 蔡:4 杨:4 郑:4 许:3 谢:3 洪:3 郭:3 邱:2 曾:2 廖:2 "
        "赖:2 徐:2 周:2 叶:2 苏:2 庄:2 吕:1 江:1 何:1 萧:1 罗:1 高:1 潘:1 简:1 朱:1 钟:1 彭:1 游:1 詹:1 "
        "胡:1 施:1 沈:1 余:1 卢:1 梁:1 赵:1 颜:1 柯:1 翁:1 魏:1 孙:1 戴:1 欧阳:0.3 司马:0.1 上官:0.1"
    )
    SURNAMES = [(s, float(w)) for s, w in (pair.split(":") for pair in SURNAME_TABLE.split())]
    GIVEN = (
        "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红玉海燕鹏飞晓东文博子涵雨轩浩然欣怡"
        "思远俊宇梓萱诗琪佳豪嘉怡宏伟丽君淑贞美玲雅婷家豪志明建华秀琴金凤碧霞丽珍瑞祥福生阿水"
    )
    RARE = "䶮𠀋堃喆昇赟玥琤珺龑犇燚垚彧祎璟頔芃禕翀𪚥𡒄𬱖"  # outside GB 2312 (Extension A and B included)
    MINORITY_NAMES = "阿依古丽·买买提 努尔·艾力 古丽娜尔·吐尔逊 扎西·次仁"
    SCHOOL_NAMES = (
        "厦门大学 集美大学 华侨大学 福州大学 福建师范大学 厦门理工学院 福建江夏学院 "
        "厦门国家会计学院 江西财经大学 上海财经大学 中南财经政法大学 东北财经大学"
    )
    MAJOR_NAMES = "会计学 财务管理 审计学 金融学 税收学 工商管理 会计电算化 国际经济与贸易"
    UNIT_WORD_LIST = "鹭岛 海沧 嘉庚 鼓浪 五缘 同安 翔鹭 金砖 湖滨 筼筜 环岛 白鹭"
    UNIT_KIND_LIST = (
        "会计师事务所有限公司 财务咨询有限公司 科技股份有限公司 商贸有限公司 建设工程有限公司 "
        "代理记账有限公司 物流有限公司 食品有限公司 投资管理有限公司 医院 中学 街道办事处"
    )
    ID_AREA_LIST = "350203 350205 350206 350211 350212 350213 350102 350583 350681 360102 440305 510107 430104"
    MINORITY, SCHOOLS, MAJORS = MINORITY_NAMES.split(), SCHOOL_NAMES.split(), MAJOR_NAMES.split()
    UNIT_WORDS, UNIT_KINDS, ID_AREAS = UNIT_WORD_LIST.split(), UNIT_KIND_LIST.split(), ID_AREA_LIST.split()

# ---------------------------------------------------------------------------- the city


def city_districts(config_file: Path) -> dict:
    """The deployment's districts file with exactly 20 districts: the configured ones first, then
    made-up ones of the same city (6-digit codes of its prefix not used yet)."""
    config = json.loads(config_file.read_text(encoding="utf-8"))
    districts = list(config["districts"])[:DISTRICT_COUNT]
    used = {d["code"] for d in districts}
    prefix = config["city"]["code"][:4]
    n = 1
    while len(districts) < DISTRICT_COUNT:
        code = f"{prefix}{n:02d}"
        n += 1
        if code in used:
            continue
        used.add(code)
        k = len(districts) + 1
        districts.append(
            {
                "code": code,
                "name": f"示例{k}区",
                "office": f"示例{k}区财政局",
                "phone": f"0592-00000{k:02d}",
                "address": f"示例{k}区（基准测试用）",
            }
        )
    return {"city": config["city"], "districts": districts}


def district_weights(count: int) -> list[float]:
    """Uneven district sizes (the first, the reviewer's, is the largest: about 3x the smallest)."""
    return [1.0 / (1.0 + 0.1 * i) for i in range(count)]


# ---------------------------------------------------------------------------- people and documents


class People:
    """Deterministic generator of realistic accountants."""

    def __init__(self, seed: int, regions: list[str]):
        from tests.records import idgen

        self.idgen = idgen
        self.rng = random.Random(seed)
        self.regions = regions
        self.region_weights = district_weights(len(regions))
        self.surnames = [s for s, _ in SURNAMES]
        self.surname_weights = [w for _, w in SURNAMES]
        self.ids: set[str] = set()
        self.units = [f"厦门{a}{b}{k}" for a in UNIT_WORDS for b in UNIT_WORDS if a != b for k in UNIT_KINDS]

    def name(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.004:
            return rng.choice(MINORITY)
        given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2, 2))))
        if roll < 0.024:  # ~2 % with a character outside GB 2312
            given = (given[:-1] if len(given) > 1 else given) + rng.choice(RARE)
        return rng.choices(self.surnames, self.surname_weights)[0] + given

    def id_number(self, region: str, birth: dt.date, gender: str) -> str:
        while True:
            area = region if self.rng.random() < 0.6 else self.rng.choice(ID_AREAS)
            number = self.idgen.resident_id(area, birth, gender, rng=self.rng)
            if number not in self.ids:
                self.ids.add(number)
                return number

    def mobile(self) -> str:
        return f"1{self.rng.choice('3578')}{self.rng.randrange(10**9):09d}"

    def sections(self, region: str) -> dict:
        """The sections and lists of one person (valid values): drawn as the first shape's sections, then
        moved to the fuller one as the migration does (one entry per list, proofs the single documents
        `files` stores)."""
        from server.records.migrate_shape import new_shape

        old = self.old_sections(region)
        proofs = {"diploma": 1, "qualification_certificate": 1, "work_proof": 1}
        return new_shape(old, proofs, uuid.UUID(int=self.rng.getrandbits(128)).hex)

    def old_sections(self, region: str) -> dict:
        """The five sections of one person in the first shape."""
        rng = self.rng
        gender = rng.choice(("male", "female"))
        birth = dt.date(1962, 1, 1) + dt.timedelta(days=rng.randrange(40 * 365))
        name = self.name()
        level = rng.choices(("associate", "bachelor", "master", "secondary_vocational", "doctor"), (30, 50, 12, 7, 1))[
            0
        ]
        graduated = birth.replace(day=1) + dt.timedelta(days=365 * (19 if level == "secondary_vocational" else 22))
        qualification = rng.choices(("junior", "intermediate", "senior", "none"), (50, 30, 8, 12))[0]
        since = graduated + dt.timedelta(days=rng.randrange(30, 700))
        return {
            "profile": {
                "name": name,
                "name_pinyin": pinyin(name),
                "gender": gender,
                "id_type": "resident_id",
                "id_number": self.id_number(region, birth, gender),
                "birth_date": birth.isoformat(),
                "ethnicity": rng.choices(("01", "03", "22", "11", "08"), (95, 1, 2, 1, 1))[0],
                "nationality": "CHN",
            },
            "education": {
                "level": level,
                "school": rng.choice(SCHOOLS),
                "major": rng.choice(MAJORS),
                "graduated_on": graduated.isoformat(),
                "degree": {"bachelor": "bachelor", "master": "master", "doctor": "doctor"}.get(level, "none"),
            },
            "qualification": (
                {"level": "none"}
                if qualification == "none"
                else {
                    "level": qualification,
                    "obtained_by": "exam",
                    "obtained_on": (since + dt.timedelta(days=rng.randrange(365, 3000))).isoformat(),
                    "certificate_no": f"{rng.choice('ZJG')}{rng.randrange(10**9):09d}",
                    "issuer": "财政部",
                }
            ),
            "employment": {
                "in_post": True,
                "unit_name": rng.choice(self.units),
                "unit_credit_code": self.idgen.uscc(area=region, rng=rng),
                "unit_nature": rng.choices(
                    ("enterprise", "public_institution", "government_agency", "social_organization"), (80, 10, 8, 2)
                )[0],
                "industry": rng.choice("CEFGIJKLMP"),
                "post": rng.choice(
                    (
                        "cashier",
                        "income_expense",
                        "accounting_head",
                        "general_ledger",
                        "cost_accounting",
                        "settlement",
                        "auditing",
                    )
                ),
                "accounting_since": since.isoformat(),
            },
            "contact": {
                "mobile": self.mobile(),
                "email": f"{uuid.UUID(int=rng.getrandbits(128)).hex[:10]}@example.com",
            },
        }

    def file(self, content_type: str, at: dt.datetime) -> dict:
        """A document entry pointing at a (fake) GridFS file."""
        return {
            "file_id": ObjectId(),
            "sha256": f"{self.rng.getrandbits(256):064x}",
            "size": self.rng.randrange(80_000, 900_000),
            "content_type": content_type,
            "uploaded_at": at,
        }

    def files(self, qualification: str, at: dt.datetime) -> tuple[dict, dict]:
        """(documents, photo) of a complete first collection."""
        kinds = ["id_front", "id_back", "diploma", "work_proof"] + (
            ["qualification_certificate"] if qualification != "none" else []
        )
        documents = {k: self.file("application/pdf" if k == "work_proof" else "image/jpeg", at) for k in kinds}
        photo = {
            "file_id": ObjectId(),
            "sha256": f"{self.rng.getrandbits(256):064x}",
            "sha256_original": f"{self.rng.getrandbits(256):064x}",
            "size": self.rng.randrange(10_500, 19_900),
            "content_type": "image/jpeg",
            "width": 295,
            "height": 413,
            "checks": [],
            "uploaded_at": at,
        }
        return documents, photo


@cache
def pinyin(name: str) -> str:
    from server.records.names import derive_pinyin

    return derive_pinyin(name) or ""


# ---------------------------------------------------------------------------- seeding


class Seed:
    """Builds the city's documents batch by batch, inserts them, and gathers the list entries."""

    def __init__(self, db, n: int, districts: dict, reviewer: str, seed: int = 7, transfers: bool = True):
        from server.db import utcnow

        self.db = db
        self.n = n
        self.codes = [d["code"] for d in districts["districts"]]
        self.offices = {d["code"]: d["office"] for d in districts["districts"]}
        self.names = {d["code"]: d["name"] for d in districts["districts"]}
        self.transfers = transfers
        self.trng = random.Random(seed + 2)  # the transfers' own: the people are the same with or without them
        self.plan: dict[int, tuple[str, str]] = {}  # approved person index -> (transfer kind, state)
        self.reserve: dict[str, int] = {}  # fresh open transfers still to seed for the timed decisions
        self.transfer_counts: dict[tuple[str, str], int] = defaultdict(int)
        self.transfer_seconds = {"build": 0.0, "insert": 0.0}
        self.transfer_entries = 0  # list entries of the transfers (and of the records transfers in hold)
        self.people = People(seed, self.codes)
        self.rng = random.Random(seed + 1)
        self.now = utcnow()
        self.reviewer = reviewer
        self.entries: dict[str, list] = defaultdict(list)  # list name -> [(key, row)]
        self.daily: dict[str, dict] = {}
        self.counts: dict[str, int] = defaultdict(int)
        self.bytes: dict[str, list[int]] = defaultdict(list)
        self.handles: dict = {}
        self.region_sizes: dict[str, int] = defaultdict(int)
        self.next_person = 0
        self.expected: dict[str, int] = {}
        self.archives, self.captured = self.capturing_archives(), []

    def capturing_archives(self):
        """server.lifecycle.archive.Archives whose store only captures the documents it would insert."""
        from server.lifecycle.archive import Archives
        from server.lifecycle.store import LifecycleStore

        seed = self

        class Capture:
            async def insert_one(self, doc: dict) -> None:
                seed.captured.append(doc)

        class Store:
            archives = Capture()

        class Services:
            def get(self, cls):
                assert cls is LifecycleStore
                return Store()

        return Archives(Services())

    # -- one person -------------------------------------------------------------------------

    def region(self) -> str:
        return self.rng.choices(self.codes, self.people.region_weights)[0]

    def collection(self, status: str, submitted: dt.datetime) -> tuple[dict, int]:
        """A first collection (submitted or approved) of a new person; (document, person number)."""
        from server.lifecycle.store import new_step

        rng = self.rng
        i = self.next_person
        self.next_person += 1
        region = self.region()
        sections = self.people.sections(region)
        created = submitted - dt.timedelta(hours=rng.uniform(1, 120))
        edits = rng.randrange(4, 14)  # drafts saved, photo and documents uploaded
        documents, photo = self.people.files(sections["qualification"]["level"], created + dt.timedelta(minutes=20))
        history = [
            new_step(1, "create", None, "draft", "self", "applicant", created, v=1),
            new_step(2, "submit", "draft", "submitted", "self", "applicant", submitted, v=edits + 2),
        ]
        name = sections["profile"]["name"]
        doc = {
            "_id": ObjectId(),
            "kind": "collection",
            "openid": f"demo-openid-p{i}",
            "unionid": f"demo-unionid-p{i}",
            **sections,
            "region_code": region,
            "archive_no": sections["profile"]["id_number"],
            "rare_name": is_rare_name(name),
            "documents": documents,
            "photo": photo,
            "submitted_at": submitted,
            "decided_at": None,
            "decision": None,
            "chat_openid": None,
            "status": "submitted",
            "version": edits + 2,
            "history": history,
            "effects_done": 2,
            "created_at": created,
            "updated_at": submitted,
            "commitment_at": submitted,
        }
        if status == "approved":
            decided = min(submitted + dt.timedelta(hours=rng.uniform(2, 160)), self.now - dt.timedelta(minutes=5))
            step = new_step(
                3,
                "approve",
                "submitted",
                "approved",
                self.reviewer,
                "reviewer",
                decided,
                v=edits + 3,
                staff_role="reviewer",
            )
            history.append(step)
            doc.update(
                status="approved",
                version=edits + 3,
                effects_done=3,
                decided_at=decided,
                updated_at=decided,
                decision={
                    "decision": "approve",
                    "reason": "",
                    "note": "",
                    "reason_codes": [],
                    "by": self.reviewer,
                    "role": "reviewer",
                    "at": decided,
                    "version": edits + 3,
                },
            )
        self.region_sizes[region] += 1
        return doc, i

    async def archive_of(self, app: dict) -> dict:
        """The archive the approval created, built by Archives.create_from itself (its insert captured)."""
        await self.archives.create_from(app, app["history"][-1])
        captured, self.captured = self.captured, []
        return captured[0]

    def change_of(self, app: dict, archive: dict) -> dict:
        """A submitted change of an approved archive (new mobile and employer), as ChangeService.submit makes it."""
        from server.lifecycle.archive import diff_of, record_data, set_path
        from server.lifecycle.store import new_step
        from server.records.derived import with_derived
        from server.records.fields import all_field_paths
        from server.records.migrate_shape import entry_id

        at = self.now - dt.timedelta(seconds=self.rng.uniform(600, 30 * 86400))
        current = record_data(archive["data"])
        merged = json.loads(json.dumps(current))
        set_path(merged, "contact.mobile", self.people.mobile())
        start = (self.now - dt.timedelta(days=self.rng.randrange(30, 300))).date()
        history = [dict(e) for e in merged.get("work_history") or []]  # a new employer: a new current period
        for e in history:
            e.setdefault("to", (start - dt.timedelta(days=1)).isoformat())
        new_period = {**(history[-1] if history else {}), "unit_name": self.rng.choice(self.people.units)}
        new_period["id"] = entry_id(uuid.UUID(int=self.rng.getrandbits(128)).hex, "work_history")
        new_period.update({"from": start.isoformat(), "proof": "change_proof"})
        new_period.pop("to", None)
        merged["work_history"] = [*history, new_period]
        merged = with_derived(merged)
        diff = diff_of(current, merged, all_field_paths())
        change = {
            "_id": ObjectId(),
            "kind": "change",
            "openid": app["openid"],
            "archive_no": archive["_id"],
            "region_code": archive["region_code"],
            "record_id": app["_id"],
            "payload": {"changes": diff, "reason": "更换工作单位，手机号码变更"},
            "documents": {},
            "submitted_at": at,
            "decided_at": None,
            "decision": None,
            "status": "submitted",
            "version": 1,
            "history": [new_step(1, "submit", None, "submitted", "self", "applicant", at, v=1)],
            "effects_done": 1,
            "created_at": at,
            "updated_at": at,
        }
        archive.update(open_change=change["_id"], changes=[change["_id"]])
        return change

    def notice_of(self, app: dict) -> dict:
        """The approval's notice, delivered (and mostly read)."""
        from server.lifecycle.store import step_key
        from server.notify.notices import render

        step = app["history"][-1]
        notice = render(
            "collection_approved",
            step_key(app["_id"], step["n"]),
            app["openid"],
            app["_id"],
            "",
            app["profile"]["name"],
            self.offices[app["region_code"]],
            step["at"],
        )
        sent = step["at"] + dt.timedelta(seconds=self.rng.uniform(1, 5))
        notice["delivery"].update(state="sent", attempts=1, sent_at=sent, lease_owner=None)
        if self.rng.random() < 0.7:
            notice["read_at"] = min(sent + dt.timedelta(hours=self.rng.uniform(0.1, 72)), self.now)
        return notice

    def list_app(self, app: dict, archive: dict | None) -> None:
        """Set `listed` and gather the application's list entries (as ReadModels.sync would write them)."""
        from server.lifecycle.readmodel import row, wanted

        want = wanted(app, archive)
        app["listed"] = want
        the_row = row(app, archive)
        for name, key in want.items():
            self.entries[name].append((key, the_row))

    def audit_of(self, app: dict) -> dict:
        """The approval's audit entry, listed per district and city-wide."""
        from server.lifecycle.readmodel import audit_name, stamp
        from server.lifecycle.tables import COLLECTION
        from server.review.audit import entry_for

        entry = entry_for(app, app["history"][-1], COLLECTION)
        row = {k: v for k, v in entry.items() if k != "_id"} | {"id": entry["_id"]}
        key = f"{stamp(entry['at'])}|{entry['_id']}"
        for region in (app["region_code"], "*"):
            self.entries[audit_name(region)].append((key, row))
        return entry

    def count_submission(self, app: dict) -> None:
        """The submit step in the per-day counts (server.review.stats.count_submission)."""
        from server.lifecycle.store import step_key
        from server.notify.template import CHINA

        step = app["history"][1]
        day = step["at"].astimezone(CHINA).date().isoformat()
        doc = self.daily.setdefault(day, {"_id": day, "counts": {}, "applied": []})
        doc["counts"][app["region_code"]] = doc["counts"].get(app["region_code"], 0) + 1
        doc["applied"].append(step_key(app["_id"], step["n"]))

    # -- batches ----------------------------------------------------------------------------

    async def insert(self, collection: str, docs: list[dict]) -> None:
        if not docs:
            return
        if len(self.bytes[collection]) < 200:
            self.bytes[collection] += [len(bson_encode(d)) for d in docs[: 200 - len(self.bytes[collection])]]
        for start in range(0, len(docs), BATCH):
            await self.db[collection].insert_many(docs[start : start + BATCH], ordered=False)
        self.counts[collection] += len(docs)

    async def people_batch(self, count: int, status: str, with_change: set[int], first: int) -> None:
        """`count` people of one status (approved people may have an open change)."""
        docs: dict[str, list] = defaultdict(list)
        tdocs: dict[str, list] = defaultdict(list)  # the transfers' documents (inserted and timed apart)
        for k in range(count):
            if status == "approved":
                submitted = self.now - dt.timedelta(seconds=self.rng.uniform(86400, 365 * 86400))
            else:
                submitted = self.now - dt.timedelta(seconds=self.rng.uniform(300, 30 * 86400))
            app, i = self.collection(status, submitted)
            archive = None
            if status == "approved":
                archive = await self.archive_of(app)
                if first + k in with_change:
                    change = self.change_of(app, archive)
                    self.list_app(change, archive)
                    docs["applications"].append(change)
                    if app["region_code"] == self.codes[0]:
                        self.handles.setdefault("changed", []).append(i)
                elif self.transfers:
                    started = time.perf_counter()
                    self.transfer_of(first + k, i, app, archive, tdocs)
                    self.transfer_seconds["build"] += time.perf_counter() - started
                docs["archives"].append(archive)
                docs["notices"].append(self.notice_of(app))
                docs["audit_log"].append(self.audit_of(app))
            self.list_app(app, archive)
            self.count_submission(app)
            docs["applications"].append(app)
            docs["accounts"].append({"_id": app["openid"], "record_id": app["_id"], "created_at": app["created_at"]})
            docs["account_keys"].append({"_id": f"u:{app['unionid']}", "openid": app["openid"]})
            docs["archive_numbers"].append(
                {"_id": app["archive_no"], "record_id": app["_id"], "claimed_at": app["history"][1]["at"]}
            )
            self.remember(app, i)
        for collection, items in docs.items():
            await self.insert(collection, items)
        started = time.perf_counter()
        for collection, items in tdocs.items():
            await self.insert(collection, items)
        self.transfer_seconds["insert"] += time.perf_counter() - started

    # -- transfers (调转) --------------------------------------------------------------------

    def plan_transfers(self, with_change: set[int]) -> None:
        """Which approved people have a transfer within or out, in which state (about 2.8 % of N, on
        archives without an open change), and how many fresh open ones the timed decisions need."""
        if not self.transfers:
            return
        rng = self.trng
        n_within = round(self.n * TRANSFER_SHARES["transfer_within"])
        n_out = round(self.n * TRANSFER_SHARES["transfer_out"])
        states = [("transfer_within", s) for s in spread(n_within, WITHIN_STATES)]
        states += [("transfer_out", s) for s in spread(n_out, OUT_STATES)]
        rng.shuffle(states)
        eligible = [i for i in range(self.n) if i not in with_change]
        self.plan = dict(zip(rng.sample(eligible, min(len(states), len(eligible))), states))
        keys = ("release_reviewer", "accept_reviewer", "release_city", "accept_city")
        self.reserve = dict.fromkeys(keys, TRANSFER_DECISIONS + 1)

    def other_region(self, *but: str) -> str:
        """A district (weighted by size) other than the given ones."""
        while True:
            code = self.trng.choices(self.codes, self.people.region_weights)[0]
            if code not in but:
                return code

    def transfer_of(self, index: int, i: int, app: dict, archive: dict, docs: dict) -> None:
        """The planned transfer of approved person `index` (or a fresh open one for the timed
        decisions): the application, its place in the archive, notices, audit entries, list rows."""
        d0, region = self.codes[0], archive["region_code"]
        spec, reserved = self.plan.get(index), None
        r = self.reserve
        if spec is None:
            if region == d0 and r.get("release_reviewer"):
                reserved = "release_reviewer"  # the reviewer's district releases
            elif region != d0 and r.get("accept_reviewer"):
                reserved = "accept_reviewer"  # the reviewer's district accepts
            elif region != d0 and r.get("release_city"):
                reserved = "release_city"
            elif region != d0 and r.get("accept_city"):
                reserved = "accept_city"
            else:
                return
            r[reserved] -= 1
            spec = ("transfer_within", "submitted" if reserved.startswith("release") else "released")
        kind, state = spec
        if kind == "transfer_within" and state == "accepted":
            origin, to = self.other_region(region), region  # the archive has moved here already
        elif reserved == "accept_reviewer":
            origin, to = region, d0
        else:
            origin, to = region, (self.other_region(region, d0) if reserved else self.other_region(region))
        tapp = self.transfer_doc(kind, state, app, archive, origin, to if kind == "transfer_within" else None)
        self.transfer_counts[(kind, state)] += 1
        docs["applications"].append(tapp)
        self.transfer_extras(tapp, archive, docs)
        self.list_app(tapp, archive)
        self.transfer_entries += len(tapp["listed"])
        h, tid = self.handles, str(tapp["_id"])
        if reserved:
            h.setdefault(reserved, []).append((tid, tapp["version"]))
        elif kind == "transfer_within" and state in ("submitted", "released") and d0 in (origin, to):
            h.setdefault("transfer_detail", tid)
        elif kind == "transfer_within" and state == "accepted":
            h.setdefault("transfer_person", i)

    def transfer_file(self, content_type: str, at: dt.datetime) -> dict:
        return {
            "file_id": ObjectId(),
            "sha256": f"{self.trng.getrandbits(256):064x}",
            "size": self.trng.randrange(80_000, 900_000),
            "content_type": content_type,
            "uploaded_at": at,
        }

    def transfer_doc(self, kind: str, state: str, app: dict, archive: dict, origin: str, to: str | None) -> dict:
        """A transfer within or out of an archive as TransferService.submit and the decisions leave it."""
        from server.lifecycle.store import new_step
        from server.lifecycle.tables import KINDS
        from server.transfers.rules import REASONS

        rng = self.trng
        path = TRANSFER_PATHS[kind][state]
        created, latest = archive["created_at"], self.now - dt.timedelta(minutes=2)
        if state in KINDS[kind].open_states:
            at = self.now - dt.timedelta(seconds=rng.uniform(300, 30 * 86400))
        else:
            at = self.now - dt.timedelta(seconds=rng.uniform(3 * 3600, 330 * 86400))
        at = min(max(at, created + dt.timedelta(minutes=10)), latest)
        reason = rng.choice(list(REASONS.values()))
        app_id = ObjectId()
        history = [new_step(1, "submit", None, "submitted", "self", "applicant", at, v=1)]
        decision = decided = None
        t = at
        for n, (action, before, after) in enumerate(path, start=2):
            t = min(t + dt.timedelta(seconds=rng.uniform(3600, 5 * 86400)), max(t, latest))
            if action == "withdraw":
                history.append(new_step(n, action, before, after, "self", "applicant", t, v=n))
                continue
            why = rng.choice(REFUSE_REASONS) if action == "reject" else ""
            history.append(
                new_step(n, action, before, after, self.reviewer, "reviewer", t, v=n, reason=why, staff_role="reviewer")
            )
            decided = t
            decision = {
                "decision": action,
                "reason": why,
                "note": why,
                "reason_codes": [],
                "by": self.reviewer,
                "role": "reviewer",
                "at": t,
                "version": n,
            }
        doc = {
            "_id": app_id,
            "kind": kind,
            "openid": app["openid"],
            "record_id": app["_id"],
            "payload": {
                "reason": reason.code,
                "reason_label": reason.label,
                "note": rng.choice(TRANSFER_NOTES),
                "to_region_name": self.names[to] if to else rng.choice(OUTSIDE_PLACES),
                "from_region_name": "",
            },
            "documents": {"transfer_proof": self.transfer_file("image/jpeg", at - dt.timedelta(minutes=5))},
            "submitted_at": at,
            "decided_at": decided,
            "decision": decision,
            "archive_no": archive["_id"],
            "region_code": origin,
            **({"to_region": to} if to else {}),
            "status": state,
            "version": len(history),
            "history": history,
            "effects_done": len(history),
            "created_at": at,
            "updated_at": t,
        }
        return doc

    def transfer_extras(self, tapp: dict, archive: dict, docs: dict) -> None:
        """What the transfer's steps left: the archive's reservation, changes and versions (a transfer
        within accepted: the move; out approved: 已调出 and its sheet), notices and audit entries."""
        from server.lifecycle.readmodel import audit_name, stamp
        from server.lifecycle.store import step_key
        from server.lifecycle.tables import KINDS
        from server.masking import mask_id_number
        from server.notify.notices import render
        from server.review.audit import entry_for
        from server.transfers.sheets import SHEETS, sheet_number

        kind = KINDS[tapp["kind"]]
        archive["changes"].append(tapp["_id"])
        if tapp["status"] in kind.open_states:
            archive["open_change"] = tapp["_id"]
        last = tapp["history"][-1]
        if tapp["status"] in ("accepted", "approved"):
            version = archive["version"] + 1
            diff = []
            if tapp["kind"] == "transfer_within":
                diff = [{"field": "region_code", "old": tapp["region_code"], "new": tapp["to_region"]}]
            else:
                number = sheet_number(tapp, last["at"])
                archive["transferred_out"] = {
                    "at": last["at"],
                    "application_id": tapp["_id"],
                    "to_region_name": tapp["payload"]["to_region_name"],
                    "sheet_no": number,
                }
                profile = archive["data"]["profile"]
                docs[SHEETS].append(
                    {
                        "_id": number,
                        "application_id": tapp["_id"],
                        "archive_no": archive["_id"],
                        "region_code": tapp["region_code"],
                        "name": profile["name"],
                        "id_number_masked": mask_id_number(profile["id_number"]),
                        "to_region_name": tapp["payload"]["to_region_name"],
                        "issued_at": last["at"],
                    }
                )
            archive["versions"].append(
                {
                    "version": version,
                    "at": last["at"],
                    "by": last["by"],
                    "application_id": tapp["_id"],
                    "kind": tapp["kind"],
                    "diff": diff,
                }
            )
            archive["applied"].append(step_key(tapp["_id"], last["n"]))
            archive.update(version=version, updated_at=max(archive["updated_at"], last["at"]))
        name = archive["data"]["profile"]["name"]
        for step in tapp["history"][1:]:
            t = kind.transition(step["from"], step["action"])
            key = step_key(tapp["_id"], step["n"])
            if t.notice:
                notice = render(
                    t.notice,
                    key,
                    tapp["openid"],
                    tapp["_id"],
                    step.get("reason", ""),
                    name,
                    self.offices[tapp["region_code"]],
                    step["at"],
                )
                sent = step["at"] + dt.timedelta(seconds=self.trng.uniform(1, 5))
                notice["delivery"].update(state="sent", attempts=1, sent_at=sent, lease_owner=None)
                docs["notices"].append(notice)
            if step["role"] != "applicant":
                entry = entry_for(tapp, step, kind)
                docs["audit_log"].append(entry)
                row = {k: v for k, v in entry.items() if k != "_id"} | {"id": entry["_id"]}
                for region in audit_regions(entry):
                    self.entries[audit_name(region)].append((f"{stamp(entry['at'])}|{entry['_id']}", row))
                    self.transfer_entries += 1

    async def transfers_in(self, count: int) -> None:
        """`count` new people whose filled record is held by a submitted transfer in (区外调入)."""
        from server.lifecycle.store import new_step
        from server.records.fields import SECTIONS
        from server.transfers.rules import REASONS

        docs: dict[str, list] = defaultdict(list)
        for _ in range(count):
            started = time.perf_counter()
            submitted = self.now - dt.timedelta(seconds=self.rng.uniform(300, 30 * 86400))
            record, i = self.collection("submitted", submitted)
            region, app_id, v = record["region_code"], ObjectId(), record["version"]
            record["history"][1] = new_step(2, "hold", "draft", "transferring", "system", "system", submitted, v=v)
            record.update(status="transferring", submitted_at=None, transfer_in=app_id, transfers_in=[app_id])
            reason = self.trng.choice(list(REASONS.values()))
            tapp = {
                "_id": app_id,
                "kind": "transfer_in",
                "openid": record["openid"],
                "record_id": record["_id"],
                "payload": {
                    "reason": reason.code,
                    "reason_label": reason.label,
                    "note": self.trng.choice(TRANSFER_NOTES),
                    "to_region_name": self.names[region],
                    "from_region_name": self.trng.choice(OUTSIDE_PLACES),
                },
                "documents": {
                    "transfer_proof": self.transfer_file("image/jpeg", submitted - dt.timedelta(minutes=6)),
                    "transfer_sheet": self.transfer_file("application/pdf", submitted - dt.timedelta(minutes=4)),
                },
                "submitted_at": submitted,
                "decided_at": None,
                "decision": None,
                **{k: record[k] for k in SECTIONS},
                "region_code": region,
                "to_region": region,
                "archive_no": record["archive_no"],
                "photo": record["photo"],
                "rare_name": record["rare_name"],
                "status": "submitted",
                "version": 1,
                "history": [new_step(1, "submit", None, "submitted", "self", "applicant", submitted, v=1)],
                "effects_done": 1,
                "created_at": submitted,
                "updated_at": submitted,
            }
            self.transfer_counts[("transfer_in", "submitted")] += 1
            self.list_app(record, None)
            self.list_app(tapp, None)
            self.transfer_entries += len(record["listed"]) + len(tapp["listed"])
            docs["applications"] += [record, tapp]
            docs["accounts"].append(
                {"_id": record["openid"], "record_id": record["_id"], "created_at": record["created_at"]}
            )
            docs["account_keys"].append({"_id": f"u:{record['unionid']}", "openid": record["openid"]})
            docs["archive_numbers"].append(
                {"_id": record["archive_no"], "record_id": record["_id"], "claimed_at": record["created_at"]}
            )
            self.transfer_seconds["build"] += time.perf_counter() - started
        started = time.perf_counter()
        for collection, items in docs.items():
            await self.insert(collection, items)
        self.transfer_seconds["insert"] += time.perf_counter() - started

    def remember(self, app: dict, i: int) -> None:
        """Keep a few people of the reviewer's district for the timed requests."""
        if app["region_code"] != self.codes[0]:
            return
        h = self.handles
        if app["status"] == "approved":
            h.setdefault("approved", (str(app["_id"]), i))
        elif "submitted_id_number" not in h:
            h["submitted_id_number"] = app["archive_no"]

    async def faq_misses(self, n: int) -> None:
        """n distinct questions the FAQ could not answer (chat_misses), listed as the server lists them."""
        from server.chat import misses

        counts = [max(1, int(self.rng.paretovariate(1.2))) for _ in range(n)]
        docs = [
            {
                "_id": f"m{i:019d}",
                "question": f"问题{i}关于{self.rng.choice('继续教育调转照片证书单位密码')}怎么办",
                "sample": f"问题{i}",
                "count": counts[i],
                "candidates": [],
                "out_of_scope": False,
                "first_at": self.now - dt.timedelta(days=30),
                "last_at": self.now - dt.timedelta(minutes=i),
            }
            for i in range(n)
        ]
        await self.insert(misses.COLLECTION, docs)
        self.entries[misses.LIST] = [(misses.list_key(d), misses.list_row(d)) for d in docs]
        await self.db["meta"].replace_one({"_id": misses.MARKER}, {"_id": misses.MARKER, "rows": n}, upsert=True)
        self.counts["FAQ misses (distinct questions)"] = n

    async def run(self) -> dict:
        """Seed everything; {phase: seconds}."""
        from server.lifecycle.migrate import MARKER, META
        from server.lists import bulk_load

        timings = {}
        started = time.perf_counter()
        open_n = self.n // 5
        changes = round(open_n * 0.2)
        new_submitted = open_n - changes
        with_change = set(self.rng.sample(range(self.n), changes))
        self.plan_transfers(with_change)
        for first in range(0, self.n, BATCH):
            await self.people_batch(min(BATCH, self.n - first), "approved", with_change, first)
        for first in range(0, new_submitted, BATCH):
            await self.people_batch(min(BATCH, new_submitted - first), "submitted", set(), first)
        transfers_in = round(self.n * TRANSFER_SHARES["transfer_in"]) if self.transfers else 0
        for first in range(0, transfers_in, BATCH):
            await self.transfers_in(min(BATCH, transfers_in - first))
        await self.insert("daily_submissions", list(self.daily.values()))
        await self.faq_misses(self.n // 5)
        await self.db[META].replace_one(
            {"_id": MARKER},
            {"_id": MARKER, "done_at": self.now, "records": 0, "migrated": 0, "skipped": 0},
            upsert=True,
        )
        timings["documents"] = time.perf_counter() - started

        started = time.perf_counter()
        gate = asyncio.Semaphore(LIST_WRITERS)

        async def load(name: str, entries: list) -> None:
            async with gate:
                await bulk_load(self.db, name, entries)

        await asyncio.gather(*(load(name, entries) for name, entries in self.entries.items()))
        timings["lists"] = time.perf_counter() - started
        self.counts["lists (names)"] = len(self.entries)
        self.counts["list entries"] = sum(len(e) for e in self.entries.values())
        self.counts["list documents (heads and chunks)"] = sum(
            [
                await self.db[c].estimated_document_count()
                for c in await self.db.list_collection_names()
                if c.startswith("lists")
            ]
        )
        self.expected = {
            "submitted": new_submitted,
            "approved": self.n,
            "changes": changes,
            "reviewer_submitted": len(self.entries.get(f"apps|collection|submitted|{self.codes[0]}", [])),
        }
        for kind in TRANSFER_KINDS:  # the transfer queues' sizes, city-wide and in the reviewer's district
            for state in ("*", "submitted", "released"):
                for region in ("*", self.codes[0]):
                    self.expected[f"apps|{kind}|{state}|{region}"] = len(
                        self.entries.get(f"apps|{kind}|{state}|{region}", [])
                    )
        self.entries.clear()
        return timings


def audit_regions(entry: dict) -> list[str]:
    """The audit lists' districts of an entry: server.review.audit.entry_regions where the server has it
    (a transfer's entries in both its districts), else its district and the city's."""
    from server.review import audit

    regions = getattr(audit, "entry_regions", None)
    return regions(entry) if regions else [r for r in (entry.get("region_code"),) if r] + ["*"]


def spread(count: int, weights: dict[str, float]) -> list[str]:
    """`count` states in proportion to their weights (largest remainders), in table order."""
    total = sum(weights.values())
    exact = {s: count * w / total for s, w in weights.items()}
    out = {s: int(v) for s, v in exact.items()}
    for s in sorted(exact, key=lambda s: out[s] - exact[s])[: count - sum(out.values())]:
        out[s] += 1
    return [s for s, k in out.items() for _ in range(k)]


def is_rare_name(name: str) -> bool:
    from server.records.names import is_rare

    return is_rare(name)


# ---------------------------------------------------------------------------- the server process


def write_text(path: str, text: str) -> None:
    Path(path).write_text(text)


def serve_child(config_path: str) -> None:
    """Child process: the real server (background tasks on) plus the bench's staff accounts."""
    from server.app import serve
    from server.logs import setup_logging
    from server.staff import StaffAccounts
    from settings import Settings

    config = json.loads(Path(config_path).read_text())
    settings = Settings.from_env({}, **config["settings"])
    setup_logging(settings.log_level)

    async def main() -> None:
        running = await serve(settings, port=settings.port, background=True)
        accounts = running.services.get(StaffAccounts)
        for staff in config["staff"]:
            await accounts.ensure(staff["username"], staff["role"], staff["regions"], PASSWORD)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        write_text(config["ready"], str(running.port))
        await stop.wait()
        await running.stop()

    asyncio.run(main())


class ServerProcess:
    """`bench/queue.py --serve-child` on a free port, against the seeded database."""

    def __init__(self, tmp: Path, uri: str, db_name: str, wechat: str, districts_file: Path, reviewer_region: str):
        self.tmp = tmp
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ready = tmp / "server.ready"
        config = {
            "ready": str(self.ready),
            "settings": {
                "environment": "development",
                "host": "127.0.0.1",
                "port": self.port,
                "mongodb_uri": uri,
                "mongodb_db": db_name,
                "data_dir": str(tmp / "data"),
                "wechat_api_base": wechat,
                "demo_staff": False,
                "log_level": "WARNING",
                "districts_file": str(districts_file),
            },
            "staff": [
                {"username": CITY_ADMIN, "role": "city_admin", "regions": []},
                {"username": REVIEWER, "role": "reviewer", "regions": [reviewer_region]},
            ],
        }
        (tmp / "server.json").write_text(json.dumps(config))
        self.log_path = tmp / "server.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115  # the child's stdout until stop()
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve-child", str(tmp / "server.json")],
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    async def wait_ready(self) -> float:
        """Seconds until the server listens with its staff created; fails with its log."""
        started = time.monotonic()
        while time.monotonic() - started < START_TIMEOUT:
            if self.proc.poll() is not None:
                break
            if self.ready.exists():
                return time.monotonic() - started
            await asyncio.sleep(0.1)
        self.stop()
        raise SystemExit("the server did not start:\n" + self.log_path.read_text(errors="replace")[-4000:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def source_digest() -> str:
    """A digest of the server's Python sources (others may edit the tree while a long run goes on)."""
    h = hashlib.sha256()
    for folder in ("server", "handlers", "miniprogram_api", "faq"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            h.update(str(path).encode() + path.read_bytes())
    h.update((ROOT / "settings.py").read_bytes())
    return h.hexdigest()[:12]


def ferretdb_pid(local, uri: str) -> int | None:
    """LocalDatabase's own process, else a ferretdb process listening on the URI's port."""
    if local is not None and local.proc is not None:
        return local.proc.pid if local.kind == "ferretdb" else None
    port = urlparse(uri).port or 27017
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if Path(argv[0].decode(errors="replace")).name.startswith("ferretdb") and any(
                a.endswith(f":{port}".encode()) for a in argv
            ):
                return int(entry)
    return None


def binary_of(pid: int | None) -> str:
    """The executable a process runs (its build tells which FerretDB: the cache folder names the patch level)."""
    try:
        argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
    except (OSError, TypeError):
        return "?"
    return f"{Path(argv0).parent.name}/{Path(argv0).name}"


def machine_busy_seconds() -> float:
    """CPU seconds every process of the machine has used (all cores, /proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / CLK_TCK


def cpu_seconds(pid: int | None) -> float:
    """utime + stime of a process in seconds (0 when it is gone or unknown)."""
    if not pid:
        return 0.0
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


# ---------------------------------------------------------------------------- timing over HTTP


class Failed(Exception):
    pass


class Client:
    """One signed-in caller: a staff cookie session (with its XSRF token) or an accountant's bearer token."""

    def __init__(self, base: str):
        self.base = base
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.headers: dict[str, str] = {}

    async def call(self, method: str, path: str, body=None, expect: int = 200) -> dict:
        async with self.session.request(method, self.base + path, json=body, headers=self.headers) as resp:
            data = await resp.read()
            if resp.status != expect:
                raise Failed(f"{method} {path}: {resp.status} {data[:300].decode(errors='replace')}")
            return json.loads(data) if data and resp.content_type == "application/json" else {}

    async def staff_login(self, username: str) -> None:
        body = await self.call("POST", "/admin/api/login", {"username": username, "password": PASSWORD})
        self.headers["X-XSRF-Token"] = body["xsrf_token"]

    async def accountant_login(self, name: str) -> dict:
        body = await self.call("POST", "/api/v1/auth/login", {"code": f"demo:{name}"})
        self.headers["Authorization"] = f"Bearer {body['token']}"
        return body

    async def close(self) -> None:
        await self.session.close()


class Results:
    """Timed rows of one size."""

    def __init__(self, reps: int, warmup: int):
        self.reps, self.warmup = reps, warmup
        self.rows: list[dict] = []
        self.base_p50 = None

    async def time(
        self, name: str, target: float | None, call, reps: int | None = None, warmup: int | None = None
    ) -> list[float]:
        """Time `await call(k)` for k = 0.. (the first `warmup` untimed), sequentially."""
        reps = self.reps if reps is None else reps
        warmup = self.warmup if warmup is None else warmup
        times: list[float] = []
        error = None
        for k in range(warmup + reps):
            started = time.perf_counter()
            try:
                await call(k)
            except Failed as exc:
                error = str(exc)
                break
            if k >= warmup:
                times.append((time.perf_counter() - started) * 1000)
        row = {"name": name, "target": target, "times": times, "error": error}
        if times:
            row["p50"], row["p95"] = percentile(times, 50), percentile(times, 95)
        self.rows.append(row)
        status = f"p50 {row['p50']:.1f} ms p95 {row['p95']:.1f} ms" if times else f"FAILED: {error}"
        print(f"  .. {name}: {status}", file=sys.stderr, flush=True)
        return times

    def table(self) -> tuple[list[str], list[str]]:
        """(printed lines, names that missed)."""
        width = max(len(r["name"]) for r in self.rows)
        lines = [
            f"{'endpoint':<{width}}  {'n':>3}  {'p50 ms':>8}  {'p95 ms':>8}  {'x healthz':>9}  {'target':>9}  result"
        ]
        missed = []
        for r in self.rows:
            if r["error"] or not r["times"]:
                lines.append(f"{r['name']:<{width}}  {'':>3}  {'':>8}  {'':>8}  {'':>9}  {'':>9}  ERROR {r['error']}")
                missed.append(r["name"])
                continue
            target = f"p95<{r['target']:.0f}" if r["target"] else "-"
            ok = r["target"] is None or r["p95"] < r["target"]
            if not ok:
                missed.append(r["name"])
            ratio = r["p50"] / self.base_p50 if self.base_p50 else float("nan")
            lines.append(
                f"{r['name']:<{width}}  {len(r['times']):>3}  {r['p50']:8.1f}  {r['p95']:8.1f}  "
                f"{ratio:9.1f}  {target:>9}  {'-' if r['target'] is None else 'OK' if ok else 'MISS'}"
            )
        return lines, missed


async def measure(url: str, size: int, seed: Seed, reps: int, warmup: int, inproc=None) -> Results:
    """Every timed request of one size (`inproc`: db, atomic and settings for timing the stats'
    transfer flows in this process)."""
    res = Results(reps, warmup)
    d0 = seed.codes[0]
    h = seed.handles
    anon = Client(url)
    city, rev = Client(url), Client(url)
    clients = [anon, city, rev]
    try:
        await res.time("GET /healthz (baseline)", None, lambda k: anon.call("GET", "/healthz"))
        res.base_p50 = res.rows[-1].get("p50")
        await city.staff_login(CITY_ADMIN)
        await rev.staff_login(REVIEWER)

        # sanity: the seeded queues are what the server lists
        got = (await city.call("GET", "/admin/api/records?status=submitted"))["total"]
        if got != seed.expected["submitted"]:
            print(f"  !! city-wide submitted total {got}, seeded {seed.expected['submitted']}", flush=True)
        approved_id, approved_person = h["approved"]
        changed = (h.get("changed") or [approved_person])[0]
        surname = "林"
        for who, c in (("city admin", city), ("reviewer", rev)):
            first = await c.call("GET", "/admin/api/records?status=submitted")
            last = max(1, math.ceil(first["total"] / PAGE_SIZE))
            rows = [
                ("records ?status=submitted p1", "/admin/api/records?status=submitted"),
                (f"records ?status=submitted p{last} (last)", f"/admin/api/records?status=submitted&page={last}"),
                (f"records ?region={d0}", f"/admin/api/records?region={d0}"),
                (f"records ?q={surname} (surname)", f"/admin/api/records?q={surname}"),
                ("records ?q=<full ID number>", f"/admin/api/records?q={h['submitted_id_number']}"),
                ("applications ?kind=change&status=submitted", "/admin/api/applications?kind=change&status=submitted"),
                ("records ?status=approved (archives)", "/admin/api/records?status=approved"),
                ("stats", "/admin/api/stats"),
                ("records/sample?n=10", "/admin/api/records/sample?n=10"),
                ("audit", "/admin/api/audit"),
                ("records/{id} (approved, detail)", f"/admin/api/records/{approved_id}"),
            ]
            if who == "city admin":  # the FAQ is the city's
                rows.append(("faq/misses (most frequent first)", "/admin/api/faq/misses"))
                rows.append(("faq/misses?offset=10000", "/admin/api/faq/misses?offset=10000"))
            for name, path in rows:
                await res.time(f"{who}: {name}", STAFF_TARGET_MS, lambda k, c=c, path=path: c.call("GET", path))
            found = await c.call("GET", f"/admin/api/records?q={h['submitted_id_number']}")
            if found["total"] != 1:
                print(f"  !! {who}: the ID number search found {found['total']} records", flush=True)
            if seed.transfers:
                await measure_transfer_reads(res, seed, who, c)
            if inproc is not None:
                staff = inproc.staff[who]
                await res.time(
                    f"{who}: stats' transfer_flows alone (in-process flows())",
                    None,
                    lambda k, staff=staff: transfer_flows(inproc, staff),
                )

        # the accountant (mini-program API)
        run = uuid.uuid4().hex[:6]
        fresh = [Client(url) for _ in range(warmup + reps)]
        clients += fresh

        async def login_new(k: int) -> None:
            await fresh[k].accountant_login(f"new-{size}-{run}-{k}")

        await res.time("accountant: POST auth/login (new user)", ACCOUNTANT_TARGET_MS, login_new)
        me = Client(url)
        clients.append(me)
        await res.time(
            "accountant: POST auth/login (existing)", ACCOUNTANT_TARGET_MS, lambda k: me.accountant_login(f"p{changed}")
        )
        await res.time(
            "accountant: GET me/record (approved, open change)",
            ACCOUNTANT_TARGET_MS,
            lambda k: me.call("GET", "/api/v1/me/record"),
        )
        draft = fresh[0]

        def patch(k: int):
            body = {
                "profile": {"name": "林小明", "gender": "male"},
                "contact": {"mobile": "13912345678", "email": f"draft{k}@example.com"},
            }
            return draft.call("PATCH", "/api/v1/me/record", body)

        await res.time("accountant: PATCH me/record (draft)", ACCOUNTANT_TARGET_MS, patch)
        messages = await me.call("GET", "/api/v1/me/messages")
        if not messages.get("messages"):
            print("  !! the existing accountant has no message", flush=True)
        await res.time(
            "accountant: GET me/messages", ACCOUNTANT_TARGET_MS, lambda k: me.call("GET", "/api/v1/me/messages")
        )
        if "transfer_person" in h:
            mover = Client(url)
            clients.append(mover)
            await mover.accountant_login(f"p{h['transfer_person']}")
            got = await mover.call("GET", "/api/v1/me/transfers")
            if not got.get("transfers") or not got.get("archive"):
                print("  !! the accountant with a transfer sees no transfer or no archive", flush=True)
            await res.time(
                "accountant: GET me/transfers (archive, accepted transfer)",
                ACCOUNTANT_TARGET_MS,
                lambda k: mover.call("GET", "/api/v1/me/transfers"),
            )
        if seed.transfers:
            await measure_transfer_decisions(res, seed, city, rev)

        # decisions: the reviewer approves 20 (+ warm-up) different submitted records, oldest first
        n_decisions = 20
        queue_rows = (await rev.call("GET", f"/admin/api/records?status=submitted&page_size={n_decisions + 1}"))[
            "items"
        ]

        async def decide(k: int) -> None:
            item = queue_rows[k]
            await rev.call(
                "POST",
                f"/admin/api/records/{item['id']}/decision",
                {"decision": "approve", "version": item["version"], "reason": "", "reason_codes": []},
            )

        await res.time(
            "reviewer: POST records/{id}/decision approve",
            STAFF_TARGET_MS,
            decide,
            reps=min(n_decisions, len(queue_rows) - 1),
            warmup=1,
        )
    finally:
        for c in clients:
            await c.close()
    return res


async def measure_transfer_reads(res: Results, seed: Seed, who: str, c: Client) -> None:
    """The transfer queues (origin's, destination's, out, in) and a transfer's detail, with a check
    that each queue's total is what was seeded in the caller's districts."""
    region = "*" if who == "city admin" else seed.codes[0]
    rows = [
        ("transfer_within", "submitted", "origin's queue"),
        ("transfer_within", "released", "destination's queue"),
        ("transfer_out", None, "every state"),
        ("transfer_in", None, "every state"),
    ]
    for kind, state, what in rows:
        path = f"/admin/api/applications?kind={kind}" + (f"&status={state}" if state else "")
        got = (await c.call("GET", path))["total"]
        want = seed.expected.get(f"apps|{kind}|{state or '*'}|{region}")
        if got != want:
            print(f"  !! {who}: {path} total {got}, seeded {want}", flush=True)
        label = f"applications ?kind={kind}" + (f"&status={state}" if state else "") + f" ({what}, {got})"
        await res.time(f"{who}: {label}", STAFF_TARGET_MS, lambda k, path=path: c.call("GET", path))
    tid = seed.handles.get("transfer_detail")
    if tid:
        await res.time(
            f"{who}: applications/{{id}} (transfer_within, detail)",
            STAFF_TARGET_MS,
            lambda k: c.call("GET", f"/admin/api/applications/{tid}"),
        )


async def measure_transfer_decisions(res: Results, seed: Seed, city: Client, rev: Client) -> None:
    """Release (origin approves a submitted transfer within) and accept (destination approves a
    released one: the archive moves, the collection's rows move districts), by the reviewer and the
    city admin, each on its own fresh application (1 warm-up + TRANSFER_DECISIONS timed)."""
    h = seed.handles
    steps = [
        ("reviewer", rev, "release_reviewer", "release (origin approves)"),
        ("reviewer", rev, "accept_reviewer", "accept (destination approves, archive moves)"),
        ("city admin", city, "release_city", "release (origin approves)"),
        ("city admin", city, "accept_city", "accept (destination approves, archive moves)"),
    ]
    for who, c, key, what in steps:
        items = h.get(key) or []
        if len(items) < 2:
            print(f"  !! {who}: only {len(items)} fresh transfers for {what}: not timed", flush=True)
            continue

        async def decide(k: int, c=c, items=items) -> None:
            tid, version = items[k]
            await c.call(
                "POST",
                f"/admin/api/applications/{tid}/decision",
                {"decision": "approve", "version": version, "reason": "", "reason_codes": []},
            )

        await res.time(
            f"{who}: POST applications/{{id}}/decision transfer_within {what}",
            STAFF_TARGET_MS,
            decide,
            reps=min(TRANSFER_DECISIONS, len(items) - 1),
            warmup=1,
        )
        # the last one decided is where the table says it goes
        tid = items[min(TRANSFER_DECISIONS, len(items) - 1)][0]
        after = await c.call("GET", f"/admin/api/applications/{tid}")
        want = "released" if key.startswith("release") else "accepted"
        moved = (after.get("archive") or {}).get("region_code") == after["transfer"]["to_region"]
        if after.get("status") != want or (want == "accepted" and not moved):
            print(f"  !! {who}: after {what}: status {after.get('status')}, archive moved: {moved}", flush=True)


async def transfer_flows(inproc, staff) -> None:
    """server.transfers.flows.flows alone, against the same database (for the stats' share)."""
    from server.transfers.flows import flows

    await flows(inproc, staff)


# ---------------------------------------------------------------------------- one size


async def run_size(n: int, args, fake_url: str) -> bool:
    """Seed a city of n archives, serve it, time it; True when every target is met."""
    from server.db import connect
    from server.localdb import LocalDatabase
    from settings import Settings

    print(f"\n=== N = {n} approved archives + {n // 5} open applications", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"kjcj-bench-queue-{n}-"))
    local = None
    external = os.environ.get("MONGODB_URI")
    db_name = f"bench_queue_{uuid.uuid4().hex[:8]}"
    server = None
    client = None
    try:
        if external:
            uri = external
            where = f"MONGODB_URI, throw-away database {db_name}"
        else:
            local = LocalDatabase(tmp / "db", Settings.from_env({}).cache_path)
            uri = local.start()
            where = f"local {local.kind} in {tmp / 'db'}"
        fpid = ferretdb_pid(local, uri)
        print(
            f"database: {where}; "
            + (
                f"FerretDB pid {fpid}, binary {binary_of(fpid)}"
                if fpid
                else "no FerretDB process found (RSS and CPU of the database: n/a)"
            )
        )
        districts = city_districts(ROOT / "config" / "districts.json")
        districts_file = tmp / "districts.json"
        districts_file.write_text(json.dumps(districts, ensure_ascii=False, indent=1), encoding="utf-8")
        client = connect(uri)
        db = client[db_name]
        seed = Seed(db, n, districts, REVIEWER, transfers=not args.no_transfers)
        digest = source_digest()
        started = time.perf_counter()
        phases = await seed.run()
        seeding = time.perf_counter() - started
        sizes = {k: sum(v) / len(v) for k, v in seed.bytes.items() if v}
        print(
            f"seeding: {seeding:.1f} s (documents {phases['documents']:.1f} s, read-model lists "
            f"{phases['lists']:.1f} s; insert_many in batches of {BATCH}, bulk_load x{LIST_WRITERS} in flight)"
        )
        print("  documents: " + ", ".join(f"{k} {v}" for k, v in seed.counts.items()))
        print("  mean BSON size: " + ", ".join(f"{k} {v / 1024:.2f} KB" for k, v in sizes.items()))
        regions = sorted(seed.region_sizes.values(), reverse=True)
        print(
            f"  {len(seed.codes)} districts ({', '.join(seed.codes[:4])}, ... from config/districts.json and "
            f"made-up codes of the city): first collections per district {regions[0]} (reviewer's, "
            f"{seed.codes[0]}) .. {regions[-1]}; reviewer's submitted queue {seed.expected['reviewer_submitted']}"
        )
        if seed.transfers:
            by_kind: dict[str, list[str]] = defaultdict(list)
            for (kind, state), k in seed.transfer_counts.items():
                by_kind[kind].append(f"{state} {k}")
            total = sum(seed.transfer_counts.values())
            print(
                f"  transfers: {total} ({total / n * 100:.1f} % of N; "
                + "; ".join(f"{kind}: {', '.join(v)}" for kind, v in by_kind.items())
                + "), of which fresh open ones for the timed decisions: "
                + ", ".join(f"{key} {len(seed.handles.get(key) or [])}" for key in seed.reserve)
            )
            share = seed.transfer_entries / max(1, seed.counts["list entries"])
            print(
                f"  transfers' share of the seeding: building {seed.transfer_seconds['build']:.1f} s, inserting "
                f"{seed.transfer_seconds['insert']:.1f} s (both within 'documents'); {seed.transfer_entries} list "
                f"entries of {seed.counts['list entries']} ({share * 100:.1f} %, ~{share * phases['lists']:.1f} s of "
                f"the lists' {phases['lists']:.1f} s if in proportion)"
            )
        else:
            print("  transfers: none (--no-transfers)")

        if source_digest() != digest:
            print("  !! the server's sources changed while seeding: the server may not read what was written")
        server = ServerProcess(tmp, uri, db_name, fake_url, districts_file, seed.codes[0])
        startup = await server.wait_ready()
        print(
            f"server: pid {server.proc.pid}, ready in {startup:.1f} s (serve(background=True), demo staff off, "
            f"LOG_LEVEL=WARNING)",
            flush=True,
        )
        ours = (server.proc.pid, fpid, os.getpid())
        busy0, ours0, wall0 = machine_busy_seconds(), sum(map(cpu_seconds, ours)), time.monotonic()
        inproc = in_process(db, districts_file, seed.codes)
        try:
            res = await measure(server.url, n, seed, args.reps, args.warmup, inproc)
        except Failed:
            print("the server's log ends with:\n" + server.log_path.read_text(errors="replace")[-3000:], flush=True)
            raise
        wall = time.monotonic() - wall0
        others = max(0.0, (machine_busy_seconds() - busy0 - (sum(map(cpu_seconds, ours)) - ours0)) / wall)
        load = others / (os.cpu_count() or 1) * 100

        rss_server = status_kb("VmRSS", server.proc.pid) / 1024
        hwm_server = status_kb("VmHWM", server.proc.pid) / 1024
        rss_db = status_kb("VmRSS", fpid) / 1024 if fpid else 0.0
        hwm_db = status_kb("VmHWM", fpid) / 1024 if fpid else 0.0
        await asyncio.sleep(3.0)  # the notices of the decisions go out (the fake WeChat answers in this loop)
        s0, d0 = cpu_seconds(server.proc.pid), cpu_seconds(fpid)
        t0 = time.monotonic()
        await asyncio.sleep(IDLE_SECONDS)
        elapsed = time.monotonic() - t0
        cpu_server = (cpu_seconds(server.proc.pid) - s0) / elapsed * 100
        cpu_db = (cpu_seconds(fpid) - d0) / elapsed * 100 if fpid else float("nan")

        lines, missed = res.table()
        decisions = len(res.rows[-1]["times"])
        print(
            f"\nsequential requests over real HTTP (aiohttp, keep-alive), {args.warmup} warm-up + {args.reps} timed "
            f"each (decisions: 1 + {decisions} different records); x healthz = p50 / healthz p50 of this run"
        )
        print("\n".join(lines))
        print(
            f"timings took {wall:.0f} s; meanwhile other processes used {others:.2f} of the machine's "
            f"{os.cpu_count()} CPUs ({load:.0f} %)"
            + ("  !! a busy machine: latencies are inflated" if load > 15 else "")
        )
        print(
            f"\nserver process RSS {rss_server:.0f} MB (peak {hwm_server:.0f} MB); "
            + (
                f"FerretDB RSS {rss_db:.0f} MB (peak {hwm_db:.0f} MB, pid {fpid})"
                if fpid
                else "FerretDB process not found (n/a)"
            )
        )
        idle_ok = cpu_server < IDLE_CPU_TARGET and (not fpid or cpu_db < IDLE_CPU_TARGET)
        print(
            f"idle CPU over {elapsed:.0f} s: server {cpu_server:.2f} %, FerretDB "
            + (f"{cpu_db:.2f} %" if fpid else "n/a")
            + f"  (target < {IDLE_CPU_TARGET:.0f} % each)  "
            + ("OK" if idle_ok else "MISS")
        )
        if not idle_ok:
            missed.append("idle CPU")
        print(
            f"N = {n}: " + ("all targets met" if not missed else f"{len(missed)} missed: " + "; ".join(missed)),
            flush=True,
        )
        return not missed
    finally:
        if server:
            server.stop()
        if client is not None:
            if external:
                await client.drop_database(db_name)
            await client.close()
        if local:
            local.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def in_process(db, districts_file: Path, codes: list[str]):
    """What server.transfers.flows.flows reads (db, atomic, settings), plus the two bench staff."""
    from types import SimpleNamespace

    from server.atomic import Atomic
    from server.staff.model import Staff
    from settings import Settings

    settings = Settings.from_env({}, environment="development", districts_file=str(districts_file))
    staff = {
        "city admin": Staff(CITY_ADMIN, "city_admin", tuple(codes)),
        "reviewer": Staff(REVIEWER, "reviewer", (codes[0],)),
    }
    return SimpleNamespace(db=db, atomic=Atomic(db, serialize=True), settings=settings, staff=staff)


async def amain(args) -> int:
    from server.wechat.fake import FakeWeChat

    fake = await FakeWeChat().start()
    ok = True
    try:
        for n in args.sizes:
            ok &= await run_size(n, args, fake.url)
    finally:
        await fake.stop()
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="5000,20000,100000",
        help="comma-separated numbers of approved archives (default 5000,20000,100000)",
    )
    parser.add_argument("--reps", type=int, default=30, help="timed requests per endpoint (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests before each endpoint (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (database, server log)")
    parser.add_argument(
        "--no-transfers",
        action="store_true",
        help="seed no transfers (and skip their timings): the city as before transfers, for comparison",
    )
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if any(n < 100 for n in args.sizes):
        parser.error("each size must be at least 100")
    return asyncio.run(amain(args))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--serve-child":
        serve_child(sys.argv[2])
    else:
        sys.exit(main())
