"""Test data of the reminder and report tests: approved people (an archive each), their credits
entered through the credits store, and their standings computed by the standing service.

A person of `approved` has a qualification obtained in 2016 (tests/admin/conftest.insert_record),
so their first year that counts is 2017: `standing_of` fills every year before the first one it
is given with a complete year, so that only the years named decide.
"""

from __future__ import annotations

import datetime as dt

from server.duties.credits import CreditStore
from server.duties.runner import StandingService
from server.lifecycle.store import ARCHIVES
from tests.admin.conftest import insert_record

FIRST_YEAR = 2017


async def approved(services, openid: str, region: str, name: str = "王小明") -> dict:
    """An approved first collection (its archive derived by the lifecycle); returns the application."""
    return await insert_record(services, status="approved", openid=openid, region=region, name=name, with_files=False)


def _entries(year: int, total: float, professional: float | None) -> list[dict]:
    prof = round(total * 2 / 3, 1) if professional is None else professional
    out = []
    for kind, credits in (("professional", prof), ("general", round(total - prof, 1))):
        if credits:
            out.append(
                {
                    "key": f"test-{year}-{kind}",
                    "year": year,
                    "credits": credits,
                    "type": kind,
                    "source": "manual",
                    "provider": "测试",
                    "course": f"{year}年度",
                    "by": "test",
                }
            )
    return out


async def standing_of(
    services, rec: dict, credits: dict[int, float | tuple[float, float]], not_in_post: bool = False
) -> dict:
    """Give a person credits ({year: total} with 2/3 professional, or {year: (total, professional)};
    complete years before the first named), compute their standing, and return it."""
    number = rec["archive_no"]
    collected = dt.datetime(FIRST_YEAR, 1, 10, tzinfo=dt.UTC)  # an archive whose records cover every year
    await services.db[ARCHIVES].update_one({"_id": number}, {"$set": {"created_at": collected}})
    entries = []
    for year in range(FIRST_YEAR, min(credits)):
        entries += _entries(year, 90, 60)
    for year, value in credits.items():
        total, prof = value if isinstance(value, tuple) else (value, None)
        entries += _entries(year, total, prof)
    await services.get(CreditStore).add(number, entries)
    if not_in_post:  # no current work period (as an approved change ending it would leave the archive)
        archive = await services.db[ARCHIVES].find_one({"_id": number}, {"data.work_history": 1})
        history = [
            {**p, "to": p.get("to") or "2020-12-31"} for p in (archive or {}).get("data", {}).get("work_history") or []
        ]
        await services.db[ARCHIVES].update_one(
            {"_id": number}, {"$set": {"data.employment.in_post": False, "data.work_history": history}}
        )
    await services.get(StandingService).recompute([number])
    standing = await services.db["standings"].find_one({"_id": number})
    assert standing is not None
    return standing
