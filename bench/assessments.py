"""Benchmark of the annual assessments (年度考评) at scale: a unit's 5,000-row sheet and a city's standing.

Run from the repository root:  .venv/bin/python bench/assessments.py [--people 5000] [--archives 100000]

A fresh local database (FerretDB v1 on SQLite here; MONGODB_URI, if set, in a throw-away database),
then, in this process, through the real services (server.app.create_services):

Seeding (bulk, at most 50 documents a command; the sorted lists with server.lists.bulk_load):
- N archives (default 100,000) in the archive's shape as far as the rule reads it (`record_id`, a
  work history with a current period, ~8 % without one), their archive-number claims, and results
  already recorded for ~90 % of them for each ended year from ASSESSMENT_FIRST_YEAR (the person
  list `assessments|person` and the year lists `assessments|<year>`, spread over 200 other units);
- one unit with P confirmed people (default 5,000; the units' list `unit|<code>|*` in the read
  models' row shape) among those archives, and its verified administrator.

Timed (wall time; peak RSS growth of this process: VmHWM reset before each phase, Linux clear_refs):
1. baseline for the sheet: openpyxl reading the same P-row sheet alone (server.units.assessments_sheet.read_sheet);
2. the template of the year (P rows prefilled);
3. upload preview of the filled template (P rows by 人员编号, nothing written), then confirm (P written);
4. the same sheet again: preview (all unchanged) and confirm (nothing written);
5. a P-row sheet naming people by full ID number (each looked up by `_id` in `archive_numbers`): preview;
6. baseline for the standing: the stream of `archives` with the rule's projection alone;
7. the standing over every archive (Assessments.standing_counts: the person list streamed, the rule
   applied to each archive).
Ratios to the baselines of the same run are printed. Informative: no targets, exit status 0.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _p in (str(ROOT), str(HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from _common import bench_services, status_kb  # noqa: E402

WRITE = 50
OTHER_UNITS = 200


def reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


async def phase(name: str, body):
    """Run one timed phase; (result, seconds)."""
    exact = reset_peak()
    rss0 = status_kb("VmRSS") / 1024
    started = time.perf_counter()
    result = await body()
    seconds = time.perf_counter() - started
    peak = status_kb("VmHWM") / 1024
    print(
        f"{name:<58} {seconds:8.2f} s  RSS {rss0:5.0f} MB -> peak {peak:5.0f} MB "
        f"(+{peak - rss0:.0f} MB{'' if exact else ', peak since start'})",
        flush=True,
    )
    return result, seconds


def id_number(i: int) -> str:
    from server.records.identifiers import id18_check_char

    first17 = f"350203{dt.date(1960, 1, 1) + dt.timedelta(days=i // 1000):%Y%m%d}{i % 1000:03d}"
    return first17 + id18_check_char(first17)


async def seed(services, n: int, people: int, first_year: int, this_year: int) -> dict:
    from bson import ObjectId

    from server.lists import bulk_load
    from server.masking import mask_id_number
    from server.records.identifiers import uscc_check_char
    from server.units import answers

    db = services.db
    rnd = random.Random(7)
    started = time.perf_counter()
    uscc = "91350203MA" + "BENCH01"
    uscc += uscc_check_char(uscc)
    others = [f"9135020{k:03d}BENCH{k:02d}"[:17] for k in range(OTHER_UNITS)]
    others = [o + uscc_check_char(o) for o in others]
    archives, claims = [], []
    person_rows: list = []
    year_rows: dict[int, list] = {y: [] for y in range(first_year, this_year)}
    unit_rows: list = []
    numbers_of_unit: list[tuple[str, str, str]] = []
    for i in range(n):
        rid = ObjectId()
        number = id_number(i)
        mine = i < people
        code = uscc if mine else others[i % OTHER_UNITS]
        name = f"测试{i:06d}"
        current = rnd.random() > 0.08
        history = [{"id": "w1", "unit_name": "单位", "unit_credit_code": code, "post": "cashier", "from": "2015-03-01"}]
        if not current:
            history[0]["to"] = "2024-06-30"
        archives.append(
            {
                "_id": number,
                "record_id": rid,
                "region_code": "350203",
                "data": {"profile": {"name": name, "id_number": number}, "work_history": history},
            }
        )
        claims.append({"_id": number, "record_id": rid})
        for y in year_rows:
            if not mine and rnd.random() < 0.9:
                person_rows.append((f"{rid}|{y}|{code}", {"r": "qualified", "c": "", "u": "单位"}))
                year_rows[y].append((f"{code}|{rid}", {"r": "qualified", "c": "", "n": name}))
        if mine:
            unit_rows.append(
                (
                    f"2026-01-01T00:00:00.000000|{rid}",
                    {
                        "id": str(rid),
                        "name": name,
                        "id_number": mask_id_number(number),
                        "unit_confirmation": "confirmed",
                    },
                )
            )
            numbers_of_unit.append((str(rid), number, name))
        if len(archives) >= WRITE:
            await asyncio.gather(db["archives"].insert_many(archives), db["archive_numbers"].insert_many(claims))
            archives, claims = [], []
        if i and i % 20000 == 0:
            print(f"  seeded {i} archives ({time.perf_counter() - started:.0f} s)", flush=True)
    if archives:
        await asyncio.gather(db["archives"].insert_many(archives), db["archive_numbers"].insert_many(claims))
    await bulk_load(db, "assessments|person", person_rows)
    for y, rows in year_rows.items():
        await bulk_load(db, f"assessments|{y}", rows)
    await bulk_load(db, answers.list_name(uscc), unit_rows)
    await bulk_load(db, answers.list_name(uscc, "confirmed"), unit_rows)
    app_id = ObjectId()
    openid = "bench-unit-admin"
    await db["applications"].insert_one(
        {"_id": app_id, "kind": "unit_admin", "status": "verified", "openid": openid, "payload": {"uscc": uscc}}
    )
    unit = {
        "_id": uscc,
        "name": "基准测试单位",
        "region_code": "350203",
        "admins": [{"application_id": app_id, "openid": openid}],
    }
    await db["units"].insert_one(unit)
    print(
        f"seeding: {n} archives, {len(person_rows)} results of other units, a unit of {people} in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return {"unit": unit, "openid": openid, "people": numbers_of_unit}


def filled(template: bytes, rnd: random.Random) -> bytes:
    """The template with a result in every row (as a unit fills it in)."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(template))
    ws = book.active
    for row in ws.iter_rows(min_row=2):
        row[3].value = rnd.choice(["合格", "合格", "合格", "基本合格", "不合格"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def by_number(people: list[tuple[str, str, str]], year: int) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    ws = book.create_sheet()
    ws.append(["证件号码", "姓名", "考评年度", "考评结果", "评语"])
    for _, number, name in people:
        ws.append([number, name, year, "合格", "按时完成"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def amain(args) -> int:
    from server.accounts.sessions import SessionUser
    from server.units.assessments import Assessments
    from server.units.assessments_sheet import read_sheet

    async with bench_services("assess") as (services, where):
        settings = services.settings
        this_year = dt.date.today().year
        first = settings.assessment_first_year
        print(
            f"=== {args.archives} archives, a unit of {args.people}; first year {first}; database: {where}",
            flush=True,
        )
        seeded = await seed(services, args.archives, args.people, first, this_year)
        unit, user = seeded["unit"], SessionUser(seeded["openid"], None, "bench")  # type: ignore[arg-type]
        svc = services.get(Assessments)
        year = this_year - 1 if this_year - 1 >= first else this_year
        rnd = random.Random(3)

        template, _ = await phase(f"template of {year} ({args.people} rows)", lambda: svc.template(unit, year))
        sheet = filled(template, rnd)

        async def parse_alone():
            return await asyncio.get_running_loop().run_in_executor(None, read_sheet, sheet, 1_000_000)

        await parse_alone()  # warm: the worker thread and openpyxl's first use
        _, base_sheet = await phase("baseline: openpyxl reads the sheet alone", parse_alone)
        preview, t_preview = await phase(
            "preview of the filled template (nothing written)", lambda: svc.preview(user, unit, sheet)
        )
        assert preview["counts"]["new"] == args.people, preview["counts"]
        done, t_confirm = await phase("confirm (every row written)", lambda: svc.confirm(user, unit, preview["id"], {}))
        assert done["result"]["written"] == args.people, done
        again, t_again = await phase("the same sheet again: preview", lambda: svc.preview(user, unit, sheet))
        assert again["counts"]["unchanged"] == args.people, again["counts"]
        nothing, t_nothing = await phase(
            "the same sheet again: confirm (nothing written)", lambda: svc.confirm(user, unit, again["id"], {})
        )
        assert nothing["result"]["written"] == 0, nothing
        numbers = by_number(seeded["people"], year)
        typed, t_typed = await phase(
            "a sheet by full ID numbers: preview (_id look-ups)", lambda: svc.preview(user, unit, numbers)
        )
        assert typed["counts"]["error"] == 0, typed["errors"][:3]

        async def stream_alone():
            from server.units.assessments import STANDING_PROJECTION

            n = 0
            async for _ in services.db["archives"].find({}, STANDING_PROJECTION, batch_size=1000):
                n += 1
            return n

        _, base_stream = await phase(f"baseline: stream {args.archives} archives alone", stream_alone)
        years, _ = await phase("of which: every person's years (the person list streamed)", svc.assessed_years_all)
        print(f"  {len(years)} people with results, {sum(len(v) for v in years.values())} results", flush=True)
        counts, t_standing = await phase("standing over every archive", svc.standing_counts)
        print(f"standing: {counts}")
        print(
            f"ratios to the baselines: preview {t_preview / base_sheet:.2f} x, confirm {t_confirm / base_sheet:.2f} x, re-upload preview {t_again / base_sheet:.2f} x + confirm {t_nothing / base_sheet:.2f} x, "
            f"by ID numbers {t_typed / base_sheet:.2f} x (of the sheet's parse); standing {t_standing / base_stream:.2f} x (of the archives' stream)"
        )
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--archives", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=5_000)
    return asyncio.run(amain(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
