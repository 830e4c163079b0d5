"""Benchmark of employment confirmation (报备确认) at city scale: a unit's list of people at 100,000
archives with a few big units.

Run from the repository root:  .venv/bin/python bench/units.py [--archives 100000] [--reps 30]

A fresh local database (FerretDB v1 on SQLite here; MONGODB_URI, if set, in a throw-away database)
is seeded in bulk (at most 50 documents a command): N people, 90 % approved (the first collection
and its archive) and 10 % submitted, spread over the deployment's districts, naming as employer
one of four big units (30 %, 20 %, 10 % and 5 % of N) or one of 1,000 small ones (the rest). The
units' lists (`unit|<code>|*` and per answer) are written with server.lists.bulk_load from the
read models' own `wanted()` / `row()` (and each application's `listed`), as the start-up migration
writes them; each big unit and one small one has a verified administrator (a `unit_admin`
application, the unit's document, a logged-in mini-program session through the fake WeChat).

Then the real server (server.app.serve, in this process, background tasks off) answers over real
HTTP (aiohttp, sequential, after a warm-up), p50/p95 over --reps requests and the ratio of the p50
to the same run's GET /healthz:
- GET /api/v1/unit/{code}/people: the first page, a page in the middle and the last page of the
  biggest unit; the first page of a small unit; state=pending of the biggest unit;
- GET /api/v1/unit/{code}/people/{id} (one person, checked by `_id` reads);
- POST .../confirm and .../deny (each on a different person of the biggest unit: the answer, the
  lists re-synced, the notice);
- GET /admin/api/units (a city administrator's first page: the units with administrators and counts).
Same-run baselines: GET /healthz, the staff queue's first page (a read-model list like a unit's) and
a reviewer's approval of a first collection (a step whose list rows are re-synced, like an answer's).
Informative: no targets, exit status 0.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _p in (str(ROOT), str(HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from _common import percentile  # noqa: E402

WRITE = 50
BIG_SHARES = (0.30, 0.20, 0.10, 0.05)
SMALL_UNITS = 1000
PASSWORD = "bench-password-42"


def id_number(i: int) -> str:
    from server.records.identifiers import id18_check_char

    first17 = f"350203{dt.date(1960, 1, 1) + dt.timedelta(days=i // 1000):%Y%m%d}{i % 1000:03d}"
    return first17 + id18_check_char(first17)


def uscc(k: int) -> str:
    from server.records.identifiers import uscc_check_char

    first17 = f"91350203MA{k:07d}"
    return first17 + uscc_check_char(first17)


async def seed(services, n: int) -> dict:
    from bson import ObjectId

    from server.districts import deployment_districts
    from server.lifecycle.readmodel import row, wanted
    from server.lists import bulk_load

    db = services.db
    rnd = random.Random(11)
    regions = [d["code"] for d in deployment_districts(services.settings).districts]
    big = [uscc(k) for k in range(len(BIG_SHARES))]
    small = [uscc(100 + k) for k in range(SMALL_UNITS)]
    bounds = []
    acc = 0.0
    for share in BIG_SHARES:
        acc += share
        bounds.append(int(acc * n))
    lists: dict[str, dict[str, dict]] = {}
    apps, archives, claims = [], [], []
    people_of: dict[str, list[str]] = {code: [] for code in big}
    submitted: list[str] = []  # the biggest unit's people awaiting review (the decisions' baseline)
    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    for i in range(n):
        which = next((k for k, b in enumerate(bounds) if i < b), None)
        code = big[which] if which is not None else small[i % SMALL_UNITS]
        rid = ObjectId()
        number = id_number(i)
        region = regions[i % len(regions)]
        approved = rnd.random() < 0.9
        submitted_at = now - dt.timedelta(minutes=n - i)
        sections = {
            "profile": {"name": f"测试{i:06d}", "id_type": "resident_id", "id_number": number},
            "employment": {
                "in_post": True,
                "unit_name": f"单位{code[-6:]}",
                "unit_credit_code": code,
                "post": "cashier",
            },
            "contact": {"mobile": f"138{i:08d}"},
        }
        app = {
            "_id": rid,
            "kind": "collection",
            "openid": f"bench-person-{i}",
            "status": "approved" if approved else "submitted",
            "version": 3 if approved else 2,
            "history": [],
            "effects_done": 3 if approved else 2,
            "region_code": region,
            "archive_no": number,
            "submitted_at": submitted_at,
            "decided_at": submitted_at if approved else None,
            **sections,
        }
        archive = None
        if approved:
            archive = {
                "_id": number,
                "region_code": region,
                "openid": app["openid"],
                "record_id": rid,
                "version": 1,
                "data": {**sections, "region_code": region},
                "versions": [],
                "applied": [],
                "changes": [],
                "open_change": None,
                "created_at": submitted_at,
                "updated_at": submitted_at,
            }
            archives.append(archive)
        want = {k: v for k, v in wanted(app, archive).items() if k.startswith(("unit|", "apps|"))}
        the_row = row(app, archive)
        for name, key in want.items():
            lists.setdefault(name, {})[key] = the_row
        app["listed"] = want
        apps.append(app)
        claims.append({"_id": number, "record_id": rid, "claimed_at": now})
        if code in people_of and len(people_of[code]) < 400 and approved:
            people_of[code].append(str(rid))
        if code == big[0] and not approved and len(submitted) < 100:
            submitted.append(str(rid))
        if len(apps) >= WRITE:
            await asyncio.gather(
                db["applications"].insert_many(apps),
                db["archive_numbers"].insert_many(claims),
                *([db["archives"].insert_many(archives)] if archives else []),
            )
            apps, archives, claims = [], [], []
        if i and i % 20000 == 0:
            print(f"  seeded {i} people ({time.perf_counter() - started:.0f} s)", flush=True)
    if apps:
        await db["applications"].insert_many(apps)
        await db["archive_numbers"].insert_many(claims)
    if archives:
        await db["archives"].insert_many(archives)
    list_started = time.perf_counter()
    for name, rows in lists.items():
        await bulk_load(db, name, rows.items())
    print(
        f"seeding: {n} people, {len(lists)} unit and queue lists in {time.perf_counter() - started:.1f} s "
        f"(lists {time.perf_counter() - list_started:.1f} s); biggest unit {bounds[0]} people",
        flush=True,
    )
    return {
        "big": big,
        "small": small,
        "people_of": people_of,
        "submitted": submitted,
        "sizes": [bounds[0]] + [bounds[k] - bounds[k - 1] for k in range(1, len(bounds))],
    }


async def make_admin(services, http, code: str, name: str) -> str:
    """A verified administrator of the unit (seeded) logged in over HTTP: their bearer token."""
    from bson import ObjectId

    from server.units.registry import UnitRegistry

    async with http.post("/api/v1/auth/login", json={"code": f"demo:{name}"}) as resp:
        token = (await resp.json())["token"]
    openid = f"demo-openid-{name}"
    app_id = ObjectId()
    db = services.db
    payload = {"uscc": code, "unit_name": f"单位{code[-6:]}", "applicant_name": "管理员", "mobile": "13900000000"}
    await db["applications"].insert_one(
        {
            "_id": app_id,
            "kind": "unit_admin",
            "status": "verified",
            "openid": openid,
            "version": 2,
            "region_code": "350203",
            "payload": payload,
            "history": [],
        }
    )
    await db["accounts"].update_one({"_id": openid}, {"$push": {"unit_admins": app_id}})
    unit = {
        "_id": code,
        "name": payload["unit_name"],
        "region_code": "350203",
        "admins": [
            {
                "application_id": app_id,
                "openid": openid,
                "name": "管理员",
                "mobile": "13900000000",
                "since": dt.datetime.now(dt.UTC),
            }
        ],
    }
    await db["units"].insert_one(unit)
    await services.get(UnitRegistry).listed(unit)
    return token


async def timed(http, method: str, path: str, reps: int, headers: dict, bodies=None) -> tuple[float, float]:
    """(p50, p95) in ms of `reps` requests after two warm-ups (`bodies`: a path per request instead)."""
    times = []
    paths = bodies or [path] * (reps + 2)
    for i, p in enumerate(paths[: reps + 2]):
        body = {"decision": "approve", "version": 2} if method == "APPROVE" else None
        if method == "POST":
            body = {"reason": "非本单位人员"}
        started = time.perf_counter()
        async with http.request("POST" if body else method, p, headers=headers, json=body) as resp:
            await resp.read()
            assert resp.status == 200, (p, resp.status, await resp.text())
        if i >= 2:
            times.append((time.perf_counter() - started) * 1000)
    return percentile(times, 50), percentile(times, 95)


async def amain(args) -> int:
    import aiohttp

    from server.app import serve
    from server.localdb import LocalDatabase
    from server.staff import StaffAccounts
    from server.wechat.fake import FakeWeChat
    from settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="kjcj-bench-units-"))
    external = os.environ.get("MONGODB_URI")
    local = None
    running = None
    fake = await FakeWeChat().start()
    try:
        if external:
            uri = external
        else:
            local = LocalDatabase(tmp / "db", Settings.from_env({}).cache_path)
            uri = local.start()
        settings = Settings.from_env(
            {},
            environment="test",
            mongodb_uri=uri,
            mongodb_db=f"bench_units_{uuid.uuid4().hex[:8]}",
            wechat_api_base=fake.url,
            data_dir=str(tmp / "data"),
            demo_staff=False,
            port=0,
        )
        print(f"=== {args.archives} people; database: {'MONGODB_URI' if external else local.kind}", flush=True)
        running = await serve(settings, port=0, background=False)
        services = running.services
        seeded = await seed(services, args.archives)
        async with aiohttp.ClientSession(base_url=running.url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            tokens = {}
            for k, code in enumerate(seeded["big"] + seeded["small"][:1]):
                tokens[code] = await make_admin(services, http, code, f"bench-admin-{k}")
            await services.get(StaffAccounts).ensure("bench-city", "city_admin", [], PASSWORD)
            async with http.post("/admin/api/login", json={"username": "bench-city", "password": PASSWORD}) as r:
                xsrf = (await r.json())["xsrf_token"]
            staff = {"X-XSRF-Token": xsrf}
            biggest, small = seeded["big"][0], seeded["small"][0]
            auth = {"Authorization": f"Bearer {tokens[biggest]}"}
            small_auth = {"Authorization": f"Bearer {tokens[small]}"}
            size = seeded["sizes"][0]
            last = (size + 19) // 20
            people = seeded["people_of"][biggest]
            base = f"/api/v1/unit/{biggest}"
            approvals = [f"/admin/api/applications/{i}/decision" for i in seeded["submitted"][: args.reps + 2]]
            queue = "/admin/api/applications?kind=collection&status=approved"
            rows = [
                ("baseline: GET /healthz", "GET", "/healthz", {}, None),
                ("baseline: staff queue page 1 (approved, city)", "GET", queue, staff, None),
                ("baseline: a reviewer approves a collection", "APPROVE", "", staff, approvals),
                (f"people, page 1 of {last} (biggest unit)", "GET", f"{base}/people", auth, None),
                (f"people, page {last // 2} (middle)", "GET", f"{base}/people?page={last // 2}", auth, None),
                (f"people, page {last} (last)", "GET", f"{base}/people?page={last}", auth, None),
                ("people, state=pending, page 1", "GET", f"{base}/people?state=pending", auth, None),
                ("people of a small unit, page 1", "GET", f"/api/v1/unit/{small}/people", small_auth, None),
                ("one person", "GET", f"{base}/people/{people[0]}", auth, None),
                (
                    "confirm (a different person each time)",
                    "POST",
                    "",
                    auth,
                    [f"{base}/people/{p}/confirm" for p in people[: args.reps + 2]],
                ),
                (
                    "deny with a reason (a different person each time)",
                    "POST",
                    "",
                    auth,
                    [f"{base}/people/{p}/deny" for p in people[args.reps + 2 : 2 * args.reps + 4]],
                ),
                ("staff: GET /admin/api/units (city, page 1)", "GET", "/admin/api/units", staff, None),
            ]
            # each row's p50 beside the same run's /healthz, and beside its kind's baseline (a list page
            # beside the staff queue's page, an answer beside a reviewer's approval)
            kind_of = {"GET": 1, "POST": 2}
            base_p50: list[float] = []
            print(f"{'':<52} {'p50 ms':>8} {'p95 ms':>8} {'/ healthz':>10} {'/ its baseline':>15}")
            for label, method, path, headers, bodies in rows:
                p50, p95 = await timed(http, method, path, args.reps, headers, bodies)
                if label.startswith("baseline"):
                    base_p50.append(p50)
                    against = ""
                else:
                    against = f"{p50 / base_p50[kind_of[method]]:14.2f}x"
                print(f"{label:<52} {p50:8.1f} {p95:8.1f} {p50 / base_p50[0]:9.1f}x {against}", flush=True)
            async with http.get(f"{base}/people", headers=auth) as resp:
                counts = (await resp.json())["counts"]
            print(f"biggest unit's counts after the answers: {counts}")
        return 0
    finally:
        if running is not None:
            await running.services.db.client.drop_database(running.services.db.name)
            await running.stop()
        await fake.stop()
        if local is not None:
            local.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--archives", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=30)
    return asyncio.run(amain(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
